import type { RedisClientType } from 'redis';
import { DEFAULT_NAMESPACE } from './protocol';
import { NotificationsConfigError } from './notifications.errors';
import type { SessionSource } from './session/session-source';

export interface NotificationsRedisOptions {
  /** `redis://` URL; the library opens (and closes) its own publisher and subscriber. */
  url?: string;
  /** An existing node-redis client to duplicate; the library closes only its duplicates. */
  client?: RedisClientType<any, any, any, any, any>;
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

/** The `redis` option with its defaults applied. */
export type ResolvedRedisOptions = NotificationsRedisOptions & Required<Pick<NotificationsRedisOptions, 'adapter' | 'key'>>;

export interface NotificationsModuleOptions {
  /**
   * Resolves the user of each socket from its handshake (the site's session cookie).
   * Required when the module runs its gateway.
   */
  session?: SessionSource;
  /**
   * Origins allowed to open a socket, e.g. `['https://app.example.com']`. A handshake whose
   * `Origin` header is present and not listed is refused (cross-site WebSocket hijacking).
   * Required when the module runs its gateway.
   */
  allowedOrigins?: string[];
  /**
   * Socket.IO namespace of the gateway.
   * @default '/notifications'
   */
  namespace?: string;
  /** Redis for several instances; absent, the module works as one instance. */
  redis?: NotificationsRedisOptions;
  /**
   * Largest accepted `title` + `body` + `data`, in bytes of JSON.
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
   * Most notifications the catch-up sends on connect: the newest ones newer than the client's
   * cursor, or the newest unread without a cursor. Older ones stay reachable through `list`.
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
}

/** Options with every default applied, as the library's providers receive them. */
export interface ResolvedNotificationsOptions
  extends Required<
    Omit<NotificationsModuleOptions, 'session' | 'redis' | 'listLimit' | 'canSubscribe' | 'eventRateLimit'>
  > {
  session?: SessionSource;
  redis?: ResolvedRedisOptions;
  listLimit: { default: number; max: number };
  canSubscribe: (userId: string, topic: string) => boolean | Promise<boolean>;
  eventRateLimit: { burst: number; perSecond: number };
}

/**
 * Every default of the options, written once: `resolveOptions` applies these, and the
 * `@default` tags above and the README's Configuration table say the same (a spec compares them).
 */
export const NOTIFICATIONS_DEFAULTS = {
  allowedOrigins: [] as string[],
  namespace: DEFAULT_NAMESPACE,
  maxPayloadBytes: 16 * 1024,
  maxRecipients: 10_000,
  listLimit: { default: 20, max: 100 },
  catchUpLimit: 1000,
  catchUpGraceMs: 5000,
  canSubscribe: (() => false) as (userId: string, topic: string) => boolean,
  sessionTimeoutMs: 5000,
  sessionRecheckMs: 60_000,
  maxMessageBytes: 16 * 1024,
  eventRateLimit: { burst: 20, perSecond: 10 },
  maxConnectionsPerUser: 20,
  redis: { adapter: 'classic' as const, key: 'nestjs-inbox' },
} as const;

export function resolveOptions(
  options: NotificationsModuleOptions,
  { gateway }: { gateway: boolean },
): ResolvedNotificationsOptions {
  const defaults = NOTIFICATIONS_DEFAULTS;
  const resolved: ResolvedNotificationsOptions = {
    ...defaults,
    ...options,
    listLimit: { ...defaults.listLimit, ...options.listLimit },
    eventRateLimit: { ...defaults.eventRateLimit, ...options.eventRateLimit },
    redis: options.redis && { ...defaults.redis, ...options.redis },
  };
  const positive = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) {
      throw new NotificationsConfigError(`${name} must be a positive integer, got ${String(value)}`);
    }
  };
  positive('maxPayloadBytes', resolved.maxPayloadBytes);
  positive('maxRecipients', resolved.maxRecipients);
  positive('catchUpLimit', resolved.catchUpLimit);
  positive('listLimit.default', resolved.listLimit.default);
  positive('listLimit.max', resolved.listLimit.max);
  positive('sessionTimeoutMs', resolved.sessionTimeoutMs);
  positive('maxMessageBytes', resolved.maxMessageBytes);
  positive('maxConnectionsPerUser', resolved.maxConnectionsPerUser);
  positive('eventRateLimit.burst', resolved.eventRateLimit.burst);
  if (!(resolved.eventRateLimit.perSecond > 0)) {
    throw new NotificationsConfigError(`eventRateLimit.perSecond must be a positive number, got ${String(resolved.eventRateLimit.perSecond)}`);
  }
  if (resolved.sessionRecheckMs !== 0) positive('sessionRecheckMs (or 0 to turn it off)', resolved.sessionRecheckMs);
  if (resolved.catchUpGraceMs !== 0) positive('catchUpGraceMs (or 0 for none)', resolved.catchUpGraceMs);
  if (resolved.listLimit.default > resolved.listLimit.max) {
    throw new NotificationsConfigError('listLimit.default must not exceed listLimit.max');
  }
  if (!resolved.namespace.startsWith('/')) {
    throw new NotificationsConfigError(`namespace must start with '/', got '${resolved.namespace}'`);
  }
  if (resolved.redis) checkRedis(resolved.redis);
  if (gateway) {
    if (typeof resolved.session !== 'function') {
      throw new NotificationsConfigError(
        'the gateway needs `session`: a session source such as expressSession({ store, secret }) ' +
          'or a function (handshake) => ({ userId }) | null. Producer-only processes pass `gateway: false`.',
      );
    }
    if (!Array.isArray(resolved.allowedOrigins) || resolved.allowedOrigins.length === 0) {
      throw new NotificationsConfigError(
        "the gateway needs `allowedOrigins`, the site's own origins, e.g. ['https://app.example.com']",
      );
    }
    for (const origin of resolved.allowedOrigins) {
      if (origin === '*' || !/^https?:\/\/[^/]+$/.test(origin)) {
        throw new NotificationsConfigError(
          `allowedOrigins entries are exact origins like 'https://app.example.com' (no path, no '*'), got '${origin}'`,
        );
      }
    }
  }
  return resolved;
}

function checkRedis(redis: ResolvedRedisOptions): void {
  if (!redis.url && !redis.client) {
    throw new NotificationsConfigError('redis needs a `url` or a `client`');
  }
  if (redis.url && redis.client) {
    throw new NotificationsConfigError('redis takes a `url` or a `client`, not both');
  }
  if (redis.url !== undefined && (typeof redis.url !== 'string' || !/^rediss?:\/\//.test(redis.url))) {
    throw new NotificationsConfigError(`redis.url must be a redis:// or rediss:// URL, got a '${redactedScheme(redis.url)}' URL`);
  }
  if (redis.client !== undefined && typeof redis.client?.duplicate !== 'function') {
    throw new NotificationsConfigError('redis.client must be a node-redis client (from `createClient` of the `redis` package)');
  }
  if (redis.adapter !== 'classic' && redis.adapter !== 'sharded') {
    throw new NotificationsConfigError(`redis.adapter must be 'classic' or 'sharded', got '${String(redis.adapter)}'`);
  }
  if (typeof redis.key !== 'string' || !/^[\w.:-]+$/.test(redis.key)) {
    throw new NotificationsConfigError(
      `redis.key must be a non-empty channel prefix of letters, digits, '_', '-', '.', ':', got '${String(redis.key)}'`,
    );
  }
}

/** The scheme of a URL only: a Redis URL may carry a password, which must not reach the logs. */
function redactedScheme(url: unknown): string {
  return typeof url === 'string' ? (/^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1] ?? 'malformed') : typeof url;
}
