import { z } from 'zod';
import { type Channel, CHANNELS } from '../protocol';
import { object, onlyChannels, topic, typeName } from './schemas';

/**
 * The schemas of what a user chooses: `preferences` (muted types and topics, channels, quiet
 * hours) and Web Push subscriptions (`push:subscribe`, `push:unsubscribe`). Parsed with
 * `parse` of ./schemas, as every input.
 */

const HH_MM = /^([01]\d|2[0-3]):[0-5]\d$/;
const hhmm = z.string({ error: "must be a time 'HH:MM' (00:00 to 23:59)" }).regex(HH_MM, "must be a time 'HH:MM' (00:00 to 23:59)");
const timeZone = z.string({ error: "must be an IANA time zone such as 'Europe/Berlin'" }).refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return tz.length > 0 && tz.length <= 100;
  } catch {
    return false;
  }
}, "must be an IANA time zone such as 'Europe/Berlin'");

const channelPreference = () =>
  object(
    { muted: z.boolean({ error: 'must be true or false' }).optional(), types: z.array(typeName).max(100).optional() },
    '{ muted?, types? }',
  ).optional();

export const preferences = z
  .object({
    muted: object(
      {
        types: z.array(typeName).max(100).optional(),
        topics: z.array(topic).max(100).optional(),
      },
      '{ types?, topics? }',
    ).optional(),
    channels: z
      .object(
        {
          email: channelPreference(),
          webPush: channelPreference(),
        } satisfies Record<Channel, unknown>,
        { error: (issue) => (issue.code === 'invalid_type' ? `must be an object ({ ${CHANNELS.join('?, ')}? })` : undefined) },
      )
      .catchall(z.unknown())
      .superRefine(onlyChannels)
      .optional(),
    quietHours: object({ start: hhmm, end: hhmm, timeZone }, '{ start, end, timeZone } or null').nullable().optional(),
  })
  .strict();

/**
 * A push service's endpoint: https (push services speak nothing else), or http on the machine
 * itself for a test; at most 2048 characters.
 */
const pushEndpoint = z.string({ error: 'must be an https URL' }).refine((s) => {
  if (s.length > 2048) return false;
  try {
    const u = new URL(s);
    return u.protocol === 'https:' || (u.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(u.hostname));
  } catch {
    return false;
  }
}, 'must be an https URL (http only on localhost) of at most 2048 characters');
const b64url = (bytes: number, what: string) =>
  z
    .string({ error: `must be ${what}: ${bytes} bytes, base64url` })
    .refine(
      (s) => /^[A-Za-z0-9_-]+={0,2}$/.test(s) && Buffer.from(s, 'base64url').length === bytes,
      `must be ${what}: ${bytes} bytes, base64url`,
    );

export const pushSubscription = z
  .object({
    endpoint: pushEndpoint,
    expirationTime: z.number({ error: 'must be a time in ms or null' }).nullish(),
    keys: z
      .object({ p256dh: b64url(65, 'a P-256 public key'), auth: b64url(16, 'an auth secret') }, { error: 'must be { p256dh, auth }' })
      .strict(),
  })
  .strict();
export const pushUnsubscribe = z.object({ endpoint: pushEndpoint }).strict();
