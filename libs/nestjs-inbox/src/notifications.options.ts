import type { RedisClientType } from 'redis';
import type { Socket } from 'socket.io';
import { DEFAULT_NAMESPACE } from './protocol';

/** The Socket.IO handshake: headers (cookies, Origin), address, `auth`. */

/** Any node-redis client, whatever its modules, functions, scripts and protocol: the library uses only its common commands. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the client's type parameters are the host's choice
export type AnyRedisClient = RedisClientType<any, any, any, any, any>;

export type Handshake = Socket['handshake'];

/** Who is on the other end of a socket, as the site's session says. */
export interface SessionUser {
  userId: string;
}

/**
 * The `session` option. Resolves the user of a Socket.IO handshake from what the browser sent
 * (its cookies), or `null` when there is no valid session. Throwing refuses the connection too.
 * It lives with the options, below every layer that uses it (docs/architecture.md).
 */
export type SessionSource = (handshake: Handshake) => Promise<SessionUser | null> | SessionUser | null;

export interface NotificationsRedisOptions {
  /** `redis://` URL; the library opens (and closes) its own publisher and subscriber. */
  url?: string;
  /** An existing node-redis client to duplicate; the library closes only its duplicates. */
  client?: AnyRedisClient;
  /**
   * `classic` (PUBLISH/SUBSCRIBE) or `sharded` (SPUBLISH, Redis 7+ cluster-friendly).
   * @default 'classic'
   */
  adapter?: 'classic' | 'sharded';
  /**
   * Channel prefix, to share one Redis between apps.
   * @default 'nestjs-inbox'
   */
  key?: string;
}

export interface NotificationsRetentionOptions {
  /** Rows older than this many days are deleted; absent, only expired rows are pruned. */
  days?: number;
  /**
   * How often the pruning job runs (on one instance at a time), in ms.
   * @default 60000
   */
  intervalMs?: number;
  /**
   * Rows one pruning transaction deletes at most.
   * @default 1000
   */
  batchSize?: number;
}

export interface NotificationsHttpOptions {
  /**
   * Path of the signed `POST` endpoint, served on the app's own HTTP server ahead of its router
   * (Nest's global prefix, middleware and guards do not apply; the signature is its authentication).
   * @default '/inbox/notifications'
   */
  path?: string;
  /**
   * Shared secret of the HMAC-SHA256 signature (`X-Inbox-Signature`); at least 32 characters,
   * e.g. `openssl rand -hex 32`.
   */
  secret: string;
  /**
   * Largest request body, in bytes; a larger one is answered 413 without being read.
   * @default 1048576
   */
  maxBodyBytes?: number;
  /**
   * Time a signed request has to send its whole body, in ms, from its headers on; a slower one
   * is answered 408 and its connection closed (a trickled body would otherwise hold the
   * connection for Node's `requestTimeout`, 5 minutes).
   * @default 10000
   */
  bodyTimeoutMs?: number;
}

/** The `http` option with its defaults applied. */
export type ResolvedHttpOptions = Required<NotificationsHttpOptions>;

export interface NotificationsAmqpOptions {
  /** `amqp://` or `amqps://` URL of the broker; the library opens (and closes) its own connection. */
  url: string;
  /** Durable queue the messages are consumed from (declared if absent). */
  queue: string;
  /**
   * Messages being stored at once (unacknowledged) per instance.
   * @default 10
   */
  prefetch?: number;
  /**
   * Durable queue that invalid messages are moved to, with the error in the `x-inbox-error` header.
   * @default '<queue>.dead'
   */
  deadLetterQueue?: string;
  /**
   * Largest message body, in bytes; a larger one is dead-lettered (`PAYLOAD_TOO_LARGE`) without
   * being decoded or parsed.
   * @default 1048576
   */
  maxBodyBytes?: number;
}

/** The `amqp` option with its defaults applied. */
export type ResolvedAmqpOptions = Required<NotificationsAmqpOptions>;

/** The `retention` option with its defaults applied. */
export type ResolvedRetentionOptions = NotificationsRetentionOptions &
  Required<Pick<NotificationsRetentionOptions, 'intervalMs' | 'batchSize'>>;

/** The `redis` option with its defaults applied. */
export type ResolvedRedisOptions = NotificationsRedisOptions & Required<Pick<NotificationsRedisOptions, 'adapter' | 'key'>>;

export interface NotificationsModuleOptions {
  /**
   * Resolves the user of each socket from its handshake (the site's session cookie).
   * Required when the module runs its gateway.
   */
  session?: SessionSource;
  /**
   * Origins allowed to open a socket, e.g. `['https://app.example.com']`. A handshake (or a
   * WebSocket upgrade) whose `Origin` header is present, not listed, and not the request's own
   * `Host` is refused on every transport (cross-site WebSocket hijacking), and logged once.
   * Required when the module runs its gateway.
   */
  allowedOrigins?: string[];
  /**
   * Refuse a handshake without an `Origin` header. Off by default: non-browser clients (apps,
   * scripts, tests) send none, nor do browsers on same-origin polling requests; they still need
   * a valid session cookie. On, the site's pages must connect with `transports: ['websocket']`.
   * @default false
   */
  requireOrigin?: boolean;
  /**
   * Socket.IO namespace of the gateway.
   * @default '/notifications'
   */
  namespace?: string;
  /** Redis for several instances; absent, the module works as one instance. */
  redis?: NotificationsRedisOptions;
  /**
   * Deletes old and expired notifications in the background (see docs/scaling.md);
   * absent, everything is kept (expired rows are hidden, not deleted).
   */
  retention?: NotificationsRetentionOptions;
  /**
   * Producers in other languages, over HTTP: a signed `POST` of the producer JSON (see docs/producers.md,
   * "Producers in other languages"); absent, no endpoint is served.
   */
  http?: NotificationsHttpOptions;
  /**
   * Producers in other languages, over RabbitMQ: consumes the producer JSON from a durable queue
   * (needs the packages `amqplib` and `amqp-connection-manager`); absent, nothing is consumed.
   */
  amqp?: NotificationsAmqpOptions;
  /**
   * Pass the parameters of the library's own pooled statements (notification bodies, user ids)
   * to the DataSource's logger when TypeORM query logging is on. Off: the SQL is logged, the
   * values are not. Statements run in a transaction go through TypeORM's query runner, which
   * logs their parameters itself (README, "Query logging").
   * @default false
   */
  logQueryParameters?: boolean;
  /**
   * Largest accepted `title` + `body` + `data` + `url` + `actions` + `actor` + `tags`, in bytes of JSON.
   * @default 16384
   */
  maxPayloadBytes?: number;
  /**
   * Most recipients one `notify` call takes.
   * @default 10000
   */
  maxRecipients?: number;
  /**
   * Page sizes of `list`: `default` when none is asked, `max` at most.
   * @default { default: 20, max: 100 }
   */
  listLimit?: { default?: number; max?: number };
  /**
   * Most notifications the catch-up sends on a reconnect: the newest ones newer than the
   * client's cursor. Without a cursor (a first visit) it sends the newest `listLimit.default`.
   * Older ones stay reachable through `list`.
   * @default 1000
   */
  catchUpLimit?: number;
  /**
   * The catch-up also resends a user's notifications that began up to this long before the
   * client's cursor: one committed just before it whose live emit was lost (an instance died
   * between commit and emit) is not skipped. The client drops what it already has. `0`: off.
   * @default 5000
   */
  catchUpGraceMs?: number;
  /**
   * Decides whether a user may subscribe to a topic from the browser (`topics:subscribe`).
   * Server-side `subscribe()` is always allowed.
   * @default refuse: topics may be private
   */
  canSubscribe?: (userId: string, topic: string) => boolean | Promise<boolean>;
  /**
   * May a user mute notifications of `type` (`preferences:set`, `setPreferences`)? A type it
   * refuses, e.g. `(type) => type !== 'system'`, is always delivered and counted.
   * @default every type may be muted
   */
  mutable?: (type: string) => boolean;
  /**
   * Longest wait for the session source, in a handshake or a re-check, in ms; a slower one refuses.
   * @default 5000
   */
  sessionTimeoutMs?: number;
  /**
   * How often the session of every open socket is checked again; a socket whose session
   * expired or was destroyed is disconnected, in ms. `0` turns it off.
   * @default 60000
   */
  sessionRecheckMs?: number;
  /**
   * Largest event a client may send, in bytes of JSON. Socket.IO reads up to
   * its engine-wide `maxHttpBufferSize` (1 MB by default) before this applies; lower that on
   * the adapter too if the app has no larger messages.
   * @default 16384
   */
  maxMessageBytes?: number;
  /**
   * Events one socket may send: `burst` at once, refilled at `perSecond`.
   * @default { burst: 20, perSecond: 10 }
   */
  eventRateLimit?: { burst?: number; perSecond?: number };
  /**
   * Sockets one user may hold open on one instance (tabs, devices).
   * @default 20
   */
  maxConnectionsPerUser?: number;
  /**
   * Most notifications one state change by filter (`archive(u, { type })`, …) may select: one
   * that selects more is refused with `INVALID_INPUT` before it changes anything. The forms
   * that change everything by watermarks (`markSeen(u, {})`, `markRead(u, {})`, `archive(u, {})`,
   * `remove(u, { state: 'all' })`) cost O(1) rows whatever the number and are not limited.
   * @default 10000
   */
  maxBulkRows?: number;
  /**
   * Shortest snooze, in ms: a snooze whose `until` is nearer is refused (each snooze stores a
   * row per notification, and its end stores a new notification).
   * @default 60000
   */
  minSnoozeMs?: number;
  /**
   * Most snoozed notifications one user may have waiting to come back; a snooze that would
   * make more is refused, and snoozes nothing.
   * @default 1000
   */
  maxSnoozed?: number;
}

/** Options with every default applied, as the library's providers receive them. */
export interface ResolvedNotificationsOptions extends Required<
  Omit<NotificationsModuleOptions, 'session' | 'redis' | 'retention' | 'http' | 'amqp' | 'listLimit' | 'canSubscribe' | 'eventRateLimit'>
> {
  session?: SessionSource;
  redis?: ResolvedRedisOptions;
  retention?: ResolvedRetentionOptions;
  http?: ResolvedHttpOptions;
  amqp?: ResolvedAmqpOptions;
  listLimit: { default: number; max: number };
  canSubscribe: (userId: string, topic: string) => boolean | Promise<boolean>;
  eventRateLimit: { burst: number; perSecond: number };
}

/**
 * Every default of the options, written once: `resolveOptions` (notifications.options.schema.ts)
 * applies these, and the `@default` tags above and docs/configuration.md's table say the same
 * (a spec compares them).
 */
export const NOTIFICATIONS_DEFAULTS = {
  allowedOrigins: [] as string[],
  requireOrigin: false,
  namespace: DEFAULT_NAMESPACE,
  logQueryParameters: false,
  maxPayloadBytes: 16 * 1024,
  maxRecipients: 10_000,
  listLimit: { default: 20, max: 100 },
  catchUpLimit: 1000,
  catchUpGraceMs: 5000,
  canSubscribe: (() => false) as (userId: string, topic: string) => boolean,
  mutable: (() => true) as (type: string) => boolean,
  sessionTimeoutMs: 5000,
  sessionRecheckMs: 60_000,
  maxMessageBytes: 16 * 1024,
  eventRateLimit: { burst: 20, perSecond: 10 },
  maxConnectionsPerUser: 20,
  maxBulkRows: 10_000,
  minSnoozeMs: 60_000,
  maxSnoozed: 1000,
  redis: { adapter: 'classic' as const, key: 'nestjs-inbox' },
  retention: { intervalMs: 60_000, batchSize: 1000 },
  http: { path: '/inbox/notifications', maxBodyBytes: 1024 * 1024, bodyTimeoutMs: 10_000 },
  amqp: { prefetch: 10, maxBodyBytes: 1024 * 1024 },
} as const;
