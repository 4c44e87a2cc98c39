import type { RedisClientType } from 'redis';

/**
 * The options of the module's optional features: several instances (`redis`), `retention`, and
 * the producer doors (`http`, `amqp`). Their defaults are in NOTIFICATIONS_DEFAULTS
 * (notifications.options.ts), written once.
 */

/** Any node-redis client, whatever its modules, functions, scripts and protocol: the library uses only its common commands. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the client's type parameters are the host's choice
export type AnyRedisClient = RedisClientType<any, any, any, any, any>;

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
