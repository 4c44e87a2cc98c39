import { z } from 'zod';
import { NotificationsConfigError } from './notifications.errors';
import {
  NOTIFICATIONS_DEFAULTS as DEFAULTS,
  type NotificationsChannelsOptions,
  type NotificationsModuleOptions,
  type ResolvedNotificationsOptions,
  type SessionSource,
} from './notifications.options';
import { MAX_CHANNEL_AFTER_MS, MAX_SNOOZE_MS } from './protocol';

/** Shortest `http.secret`: 32 characters of `openssl rand -hex 32` carry 128 bits. */
const MIN_SECRET_LENGTH = 32;

// Each message below completes a sentence that begins with the option's path ("listLimit.max
// must be …, got 0"): the boot error says which option, what it takes and what it got.

/** What a value is, without showing it: for options that may hold a URL or a secret. */
function kind(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** A wrong value as a message shows it: numbers and flags as they are, strings quoted. */
function shown(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 100 ? `${value.slice(0, 100)}…` : value}'`;
  return typeof value === 'number' || typeof value === 'boolean' ? String(value) : kind(value);
}

/** The scheme of a URL only: a Redis URL may carry a password, which must not reach the logs. */
function redactedScheme(url: unknown): string {
  return typeof url === 'string' ? (/^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? 'malformed') : typeof url;
}

type Issue = { input?: unknown };

/** One zod error for a type and its checks: `<rule>, got <value>`. */
const rule = (expected: string, got: (value: unknown) => string = shown) => ({
  error: (issue: Issue) => `${expected}, got ${got(issue.input)}`,
});

const integer = (expected: string, min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.number(rule(expected)).int(rule(expected)).min(min, rule(expected)).max(max, rule(expected));
const positive = () => integer('must be a positive integer', 1);
const flag = () => z.boolean(rule('must be true or false'));
const fn = <F>(signature: string) => z.custom<F>((v) => typeof v === 'function', rule(`must be a function ${signature}`));
const text = (expected: string, pattern: RegExp) => z.string(rule(expected)).regex(pattern, rule(expected));
const urlRule = (expected: string) => rule(expected, (v) => `a '${redactedScheme(v)}' URL`);
const url = (expected: string, schemes: RegExp) => z.string(urlRule(expected)).regex(schemes, urlRule(expected));
/** An option made of fields: a wrong type names them, and shows no value (it may be a URL or a secret). */
const group = <T extends z.ZodRawShape>(fields: string, shape: T) => z.object(shape, rule(`must be an object ${fields}`, kind));

/** Rules between fields run once each field has passed its own. */
const fieldsValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

const listLimit = group('{ default?, max? }', {
  default: positive().default(DEFAULTS.listLimit.default),
  max: positive().default(DEFAULTS.listLimit.max),
})
  .prefault({})
  .refine((l) => l.default <= l.max, { path: ['default'], message: 'must not exceed listLimit.max', ...fieldsValid });

const eventRateLimit = group('{ burst?, perSecond? }', {
  burst: positive().default(DEFAULTS.eventRateLimit.burst),
  // Not z.number(), which refuses Infinity: a refill without limit (only `burst` applies) stays allowed.
  perSecond: z
    .custom<number>((v) => typeof v === 'number' && v > 0, rule('must be a positive number'))
    .default(DEFAULTS.eventRateLimit.perSecond),
}).prefault({});

const redis = group('{ url } or { client }', {
  url: url('must be a redis:// or rediss:// URL', /^rediss?:\/\//).optional(),
  client: z
    .custom<NonNullable<NotificationsModuleOptions['redis']>['client']>(
      (v) => typeof (v as { duplicate?: unknown } | null)?.duplicate === 'function',
      'must be a node-redis client (from `createClient` of the `redis` package)',
    )
    .optional(),
  adapter: z.enum(['classic', 'sharded'], rule("must be 'classic' or 'sharded'")).default(DEFAULTS.redis.adapter),
  key: text("must be a non-empty channel prefix of letters, digits, '_', '-', '.', ':'", /^[\w.:-]+$/).default(DEFAULTS.redis.key),
})
  .refine((r) => r.url || r.client, 'needs a `url` or a `client`')
  .refine((r) => !(r.url && r.client), 'takes a `url` or a `client`, not both');

const retention = group('{ days?, channelDays?, intervalMs?, batchSize? }', {
  days: positive().optional(),
  channelDays: positive().optional(),
  intervalMs: positive().default(DEFAULTS.retention.intervalMs),
  batchSize: positive().default(DEFAULTS.retention.batchSize),
});

const deliveryRecord = group('{ flushMs? }', {
  flushMs: positive().default(DEFAULTS.deliveryRecord.flushMs),
});

// The length only: the secret itself must not reach the logs.
const secret = rule(`must be a string of at least ${MIN_SECRET_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`, (v) =>
  typeof v === 'string' ? `${v.length} characters` : typeof v,
);

const http = group('{ secret, path?, maxBodyBytes?, bodyTimeoutMs? }', {
  secret: z.string(secret).min(MIN_SECRET_LENGTH, secret),
  path: text("must be a path starting with '/', without query or spaces", /^\/[^\s?#]*$/).default(DEFAULTS.http.path),
  maxBodyBytes: positive().default(DEFAULTS.http.maxBodyBytes),
  bodyTimeoutMs: positive().default(DEFAULTS.http.bodyTimeoutMs),
});

// RabbitMQ refuses longer names and reserves the amq. prefix for its own queues.
const QUEUE_NAME = rule("must be a queue name of 1 to 255 bytes not starting with 'amq.'");
const queueName = () =>
  z.string(QUEUE_NAME).refine((q) => q.length > 0 && Buffer.byteLength(q) <= 255 && !q.startsWith('amq.'), QUEUE_NAME);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

const amqp = z.preprocess(
  // The dead-letter queue defaults to `<queue>.dead`, then is checked like a name given.
  (v) => (isRecord(v) && v.deadLetterQueue === undefined ? { ...v, deadLetterQueue: `${String(v.queue)}.dead` } : v),
  group('{ url, queue, prefetch?, deadLetterQueue?, maxBodyBytes? }', {
    url: url('must be an amqp:// or amqps:// URL', /^amqps?:\/\//),
    queue: queueName(),
    prefetch: positive().default(DEFAULTS.amqp.prefetch),
    deadLetterQueue: queueName(),
    maxBodyBytes: positive().default(DEFAULTS.amqp.maxBodyBytes),
  }).refine((a) => a.deadLetterQueue !== a.queue, {
    path: ['deadLetterQueue'],
    message: 'must differ from amqp.queue, or invalid messages would come back',
    ...fieldsValid,
  }),
);

const email = group('{ transport, from, address, after?, until?, digest?, render?, types?, baseUrl?, unsubscribeUrl? }', {
  transport: z.custom<NonNullable<NotificationsChannelsOptions['email']>['transport']>(
    (v) => (typeof v === 'string' && /^smtps?:\/\//.test(v)) || (typeof v === 'object' && v !== null && !Array.isArray(v)),
    rule('must be an smtp:// or smtps:// URL, nodemailer transport options or a Transporter', (v) =>
      typeof v === 'string' ? `a '${redactedScheme(v)}' URL` : kind(v),
    ),
  ),
  from: z.string(rule('must be a sender address')).min(3, rule('must be a sender address')),
  address: fn<NonNullable<NotificationsChannelsOptions['email']>['address']>('(userId) => string | null | Promise<string | null>'),
  after: integer(`must be an integer from 0 to ${MAX_CHANNEL_AFTER_MS} (30 days)`, 0, MAX_CHANNEL_AFTER_MS).default(
    DEFAULTS.channels.email.after,
  ),
  until: z.enum(['seen', 'read'], rule("must be 'seen' or 'read'")).default(DEFAULTS.channels.email.until),
  digest: integer(`must be an integer from 1 to ${MAX_CHANNEL_AFTER_MS} (30 days)`, 1, MAX_CHANNEL_AFTER_MS).optional(),
  render: fn<NonNullable<NotificationsChannelsOptions['email']>['render']>(
    '({ userId, scope, items, unsubscribeUrl }) => { subject, text, html? }',
  ).optional(),
  types: z.array(z.string(), rule('must be an array of types')).optional(),
  baseUrl: url('must be an http:// or https:// URL', /^https?:\/\/[^/]/).optional(),
  unsubscribeUrl: fn<NonNullable<NotificationsChannelsOptions['email']>['unsubscribeUrl']>('(userId, scope) => string | null').optional(),
});

const base64url = (what: string) => text(`must be ${what} (base64url)`, /^[A-Za-z0-9_-]+=*$/);
const webPush = group('{ vapid: { subject, publicKey, privateKey }, after?, until?, ttl?, urgency?, types? }', {
  vapid: group('{ subject, publicKey, privateKey }', {
    subject: text('must be a mailto: or https: URL', /^(mailto:|https:\/\/)/),
    publicKey: base64url('the VAPID public key'),
    // Its value must not reach the logs: only whether it has the shape.
    privateKey: z
      .string(rule('must be the VAPID private key (base64url)', kind))
      .regex(/^[A-Za-z0-9_-]+=*$/, rule('must be the VAPID private key (base64url)', kind)),
  }),
  after: integer(`must be an integer from 0 to ${MAX_CHANNEL_AFTER_MS} (30 days)`, 0, MAX_CHANNEL_AFTER_MS).default(
    DEFAULTS.channels.webPush.after,
  ),
  until: z.enum(['seen', 'read'], rule("must be 'seen' or 'read'")).default(DEFAULTS.channels.webPush.until),
  ttl: integer('must be an integer number of seconds from 0 to 2419200', 0, 2_419_200).default(DEFAULTS.channels.webPush.ttl),
  urgency: z
    .enum(['very-low', 'low', 'normal', 'high'], rule("must be 'very-low', 'low', 'normal' or 'high'"))
    .default(DEFAULTS.channels.webPush.urgency),
  types: z.array(z.string(), rule('must be an array of types')).optional(),
});

const channels = group('{ email?, webPush?, broadcastAudience?, pollMs?, claimBatch?, maxAttempts?, retryBaseMs? }', {
  email: email.optional(),
  webPush: webPush.optional(),
  broadcastAudience: fn<NonNullable<NotificationsChannelsOptions['broadcastAudience']>>(
    '({ scope, notification, channels }) => AsyncIterable<string | string[]>',
  ).optional(),
  pollMs: positive().default(DEFAULTS.channels.pollMs),
  claimBatch: positive().default(DEFAULTS.channels.claimBatch),
  maxAttempts: positive().default(DEFAULTS.channels.maxAttempts),
  retryBaseMs: positive().default(DEFAULTS.channels.retryBaseMs),
});

/** Every option, its check and its default (from NOTIFICATIONS_DEFAULTS). */
const optionsSchema = group('of options (docs/configuration.md)', {
  // Read by the gateway only, and checked by `gatewayOptions` when it runs.
  session: z.custom<SessionSource>().optional(),
  allowedOrigins: z.custom<string[]>().default(DEFAULTS.allowedOrigins),
  requireOrigin: flag().default(DEFAULTS.requireOrigin),
  namespace: text("must start with '/'", /^\//).default(DEFAULTS.namespace),
  redis: redis.optional(),
  retention: retention.optional(),
  deliveryRecord: deliveryRecord.optional(),
  http: http.optional(),
  amqp: amqp.optional(),
  channels: channels.optional(),
  logQueryParameters: flag().default(DEFAULTS.logQueryParameters),
  eventEmitter: flag().default(DEFAULTS.eventEmitter),
  notifySpans: z.enum(['always', 'withParent'], rule("must be 'always' or 'withParent'")).default(DEFAULTS.notifySpans),
  maxPayloadBytes: positive().default(DEFAULTS.maxPayloadBytes),
  maxRecipients: positive().default(DEFAULTS.maxRecipients),
  listLimit,
  catchUpLimit: positive().default(DEFAULTS.catchUpLimit),
  catchUpGraceMs: integer('(or 0 for none) must be a positive integer', 0).default(DEFAULTS.catchUpGraceMs),
  // A function default is given through a getter: zod calls a function passed to .default().
  canSubscribe: fn<ResolvedNotificationsOptions['canSubscribe']>('(userId, topic) => boolean | Promise<boolean>').default(
    () => DEFAULTS.canSubscribe,
  ),
  canAccessScope: fn<ResolvedNotificationsOptions['canAccessScope']>('(userId, scope) => boolean | Promise<boolean>').default(
    () => DEFAULTS.canAccessScope,
  ),
  mutable: fn<ResolvedNotificationsOptions['mutable']>('(type) => boolean').default(() => DEFAULTS.mutable),
  sessionTimeoutMs: positive().default(DEFAULTS.sessionTimeoutMs),
  sessionRecheckMs: integer('(or 0 to turn it off) must be a positive integer', 0).default(DEFAULTS.sessionRecheckMs),
  maxMessageBytes: positive().default(DEFAULTS.maxMessageBytes),
  eventRateLimit,
  maxConnectionsPerUser: positive().default(DEFAULTS.maxConnectionsPerUser),
  releaseHandshakeRequest: flag().default(DEFAULTS.releaseHandshakeRequest),
  maxBulkRows: positive().default(DEFAULTS.maxBulkRows),
  // A minimum beyond the longest snooze would refuse every one.
  minSnoozeMs: integer(`must be an integer from 0 to ${MAX_SNOOZE_MS} (a snooze ends within a year)`, 0, MAX_SNOOZE_MS).default(
    DEFAULTS.minSnoozeMs,
  ),
  maxSnoozed: positive().default(DEFAULTS.maxSnoozed),
});

// An option added to NotificationsModuleOptions but not to the schema would be dropped from the
// resolved options without a word: this fails to compile instead, naming it.
const _everyOptionChecked: Record<Exclude<keyof NotificationsModuleOptions, keyof typeof optionsSchema.shape>, never> = {};

// What the gateway needs; its messages name the option themselves.
const NEEDS_SESSION =
  'the gateway needs `session`: a session source such as expressSession({ store, secret }) ' +
  'or a function (handshake) => ({ userId }) | null. Producer-only processes pass `gateway: false`';
const NEEDS_ORIGINS = "the gateway needs `allowedOrigins`, the site's own origins, e.g. ['https://app.example.com']";
const exactOrigin = text("allowedOrigins entries are exact origins like 'https://app.example.com' (no path, no '*')", /^https?:\/\/[^/]+$/);

const gatewayOptions = z.object({
  session: z.custom<SessionSource>((v) => typeof v === 'function', NEEDS_SESSION),
  allowedOrigins: z.array(exactOrigin, NEEDS_ORIGINS).min(1, NEEDS_ORIGINS),
});

/**
 * The options with every default applied, or a {@link NotificationsConfigError} listing each
 * problem with the option's path and what to change.
 */
export function resolveOptions(options: NotificationsModuleOptions, { gateway }: { gateway: boolean }): ResolvedNotificationsOptions {
  // A forRootAsync factory may return nothing: every default, as for `{}`.
  const input: unknown = options ?? {};
  const resolved = optionsSchema.safeParse(input);
  const problems = (resolved.error?.issues ?? []).map(({ path, message }) => `${path.length ? path.join('.') : 'the options'} ${message}`);
  if (gateway) {
    problems.push(...(gatewayOptions.safeParse(isRecord(input) ? input : {}).error?.issues ?? []).map((i) => i.message));
  }
  if (!resolved.success || problems.length > 0) throw new NotificationsConfigError(problems.join('; '));
  return resolved.data;
}
