import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../notifications.errors';
import { DOOR, type Door, type NotifyThrough } from '../observability/door';
import type { NotificationInput, NotificationService } from '../service/notification.service';
import * as schema from '../validation/schemas';

/**
 * What a producer in another language sends, over HTTP or RabbitMQ: the audience, then the
 * notification with the fields of `NotificationInput` (`expiresAt` as an ISO 8601 date-time
 * with its offset, since JSON has no dates). `notification.scope` puts it in a scope: with
 * `broadcast: true`, to every user's inbox of that scope; with `topic`, to the topic's
 * subscribers in that scope (docs/scopes.md).
 */
export type ProducerMessage =
  | { to: string | string[]; notification: NotificationInput }
  | { broadcast: true; notification: NotificationInput }
  | { topic: string; notification: NotificationInput };

/**
 * `notificationInput` itself, so a field the service learns is accepted here too; only
 * `expiresAt` differs, a string on the wire. The service checks the rest again (size, …).
 */
const notification = schema.notificationInput.extend({
  expiresAt: z.iso
    .datetime({ offset: true, error: 'must be an ISO 8601 date-time with an offset, e.g. 2030-01-01T00:00:00Z' })
    .transform((s) => new Date(s))
    .refine((d) => d.getTime() > Date.now(), 'must be in the future')
    .nullish(),
});

/** One recipient or several; a single id is taken as a list of one. */
const recipients = z.preprocess(
  (v) => (typeof v === 'string' ? [v] : v),
  z.array(schema.userId, { error: 'must be a user id or an array of user ids' }).min(1, 'must name at least one user'),
);

const byAudience = {
  to: z.object({ to: recipients, notification }).strict(),
  broadcast: z.object({ broadcast: z.literal(true, { error: 'must be true' }), notification }).strict(),
  topic: z.object({ topic: schema.topic, notification }).strict(),
};
const AUDIENCES = Object.keys(byAudience) as (keyof typeof byAudience)[];

/**
 * Checks a decoded message; a mistake is an `InvalidInputError` naming the field, e.g.
 * `message: notification.type: must be a non-empty string`. The audience is picked by its key
 * before parsing, so the error is about that shape rather than a union of all three.
 */
export function parseProducerMessage(value: unknown): ProducerMessage {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidInputError('message: must be a JSON object');
  }
  const given = AUDIENCES.filter((key) => key in value);
  if (given.length !== 1) {
    throw new InvalidInputError(
      `message: must have exactly one of \`to\`, \`broadcast: true\` or \`topic\`${given.length ? `, got ${given.join(' and ')}` : ''}`,
    );
  }
  return schema.parse(byAudience[given[0]], value, 'message') as ProducerMessage;
}

/** The bytes of a message as JSON: UTF-8 (a BOM is dropped) holding one JSON value. */
export function decodeProducerJson(raw: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new InvalidInputError('body: not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`body: not valid JSON (${(err as Error).message})`);
  }
}

/**
 * Gives the notification a `dedupeKey` derived from `id` (a transport's message id) unless the
 * producer set one: a message delivered twice then stores once. Hashed when the id would not
 * fit the 255 characters a key may have, or holds text Postgres cannot store (a NUL): it is the
 * transport's, not the producer's notification, so it must not get the message refused.
 */
export function withFallbackDedupeKey(message: ProducerMessage, prefix: string, id: string | undefined): ProducerMessage {
  if (!id || message.notification.dedupeKey) return message;
  const key = `${prefix}${id}`;
  const dedupeKey =
    key.length <= 255 && schema.textProblem(key) === null ? key : `${prefix}sha256:${createHash('sha256').update(id).digest('hex')}`;
  return { ...message, notification: { ...message.notification, dedupeKey } };
}

/**
 * Hands a checked message to the public service, exactly as a Nest caller would: stored first,
 * delivered after commit, deduplicated by `dedupeKey`. Resolves once committed, with the ids
 * stored (none for a repeated `dedupeKey`).
 */
export async function dispatchProducerMessage(service: NotificationService, message: ProducerMessage, door: Door): Promise<string[]> {
  const through: NotifyThrough = { [DOOR]: door };
  if ('to' in message) return (await service.notify(message.to, message.notification, through)).map((n) => n.id);
  const stored =
    'topic' in message
      ? await service.publish(message.topic, message.notification, through)
      : await service.broadcast(message.notification, through);
  return stored ? [stored.id] : [];
}
