import type { Socket } from 'socket.io';
import type {
  NotificationsAmqpOptions,
  NotificationsChannelsOptions,
  NotificationsDeliveryRecordOptions,
  NotificationsHttpOptions,
  NotificationsRedisOptions,
  NotificationsRetentionOptions,
  ResolvedAmqpOptions,
  ResolvedChannelsOptions,
  ResolvedDeliveryRecordOptions,
  ResolvedHttpOptions,
  ResolvedRedisOptions,
  ResolvedRetentionOptions,
} from './notifications.feature-options';
import { DEFAULT_NAMESPACE } from './protocol';

// The options of the optional features (Redis, retention, the HTTP and RabbitMQ doors) live in
// a file of their own; they are part of this file's public surface.
export * from './notifications.feature-options';

/** The Socket.IO handshake: headers (cookies, Origin), address, `auth`. */
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
   * Records live deliveries in `inbox_delivery` for `inbox_engagement`'s `delivered_live`
   * (docs/observability.md): each instance counts, per notification, the inboxes it wrote it
   * to, and adds them every `flushMs`; absent, nothing is recorded.
   */
  deliveryRecord?: NotificationsDeliveryRecordOptions;
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
   * Other channels (e-mail) for notifications still unseen after a delay, cancelled by seeing
   * or reading them (docs/channels.md); absent, notifications reach the inbox only.
   */
  channels?: NotificationsChannelsOptions;
  /**
   * Pass the parameters of the library's own pooled statements (notification bodies, user ids)
   * to the DataSource's logger when TypeORM query logging is on. Off: the SQL is logged, the
   * values are not. Statements run in a transaction go through TypeORM's query runner, which
   * logs their parameters itself (README, "Query logging").
   * @default false
   */
  logQueryParameters?: boolean;
  /**
   * Also emit the engagement events made on this instance (`NotificationService.events`) through
   * `@nestjs/event-emitter` as `inbox.seen`, `inbox.read`, … (needs the package and
   * `EventEmitterModule.forRoot()` in the app; docs/observability.md).
   * @default false
   */
  eventEmitter?: boolean;
  /**
   * When `notify` is traced: `'withParent'`, an `inbox.notify` span only under the caller's
   * active span, as OpenTelemetry's own instrumentations' `requireParentSpan`: a call outside
   * any trace (a job, a consumer) makes no span, and a notification costs the host's SDK about
   * 2 µs (a histogram record) instead of 4; `'always'`, a span per call, a root span (a trace
   * of its own) without a caller's span (docs/observability.md, "What tracing costs"). Metrics
   * are recorded either way.
   * @default 'withParent'
   */
  notifySpans?: 'always' | 'withParent';
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
   * Decides whether a user may subscribe to a topic from the browser (`topics:subscribe`), in
   * the socket's scope (`null`: unscoped). Server-side `subscribe()` is always allowed.
   * @default refuse: topics may be private
   */
  canSubscribe?: (userId: string, topic: string, scope: string | null) => boolean | Promise<boolean>;
  /**
   * Decides whether a user may open a socket in a scope (the handshake's `auth.scope`, e.g. a
   * workspace they belong to). A socket without a scope is always allowed (unscoped
   * notifications only); a scope it refuses, throws for or does not answer within
   * `sessionTimeoutMs` is refused with `FORBIDDEN`; asked again at every session re-check, an
   * open socket it now says no for is closed. Service methods taking `{ scope }` are not
   * checked: the host calls them for users it knows.
   * @default refuse: every scope (without the option, sockets are unscoped)
   */
  canAccessScope?: (userId: string, scope: string) => boolean | Promise<boolean>;
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
   * Let go of each connection's first HTTP request once its socket is in this namespace (the
   * advice of Socket.IO's performance guide: a few KiB of heap per idle connection). Socket.IO
   * keeps that request for the connection's life, for `socket.request` and for namespaces joined
   * later over the same connection; on, they see a copy of its headers, url, method and query
   * only. Turn it on where no code reads more of `socket.request` (such as `req.session`, set by
   * an `io.engine.use()` middleware). A polling session keeps its request until it upgrades.
   * The request of the WebSocket upgrade, which engine.io's upgrade response keeps, is let go too.
   * @default false
   */
  releaseHandshakeRequest?: boolean;
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
  Omit<
    NotificationsModuleOptions,
    | 'session'
    | 'redis'
    | 'retention'
    | 'deliveryRecord'
    | 'http'
    | 'amqp'
    | 'channels'
    | 'listLimit'
    | 'canSubscribe'
    | 'canAccessScope'
    | 'eventRateLimit'
  >
> {
  session?: SessionSource;
  redis?: ResolvedRedisOptions;
  retention?: ResolvedRetentionOptions;
  deliveryRecord?: ResolvedDeliveryRecordOptions;
  http?: ResolvedHttpOptions;
  amqp?: ResolvedAmqpOptions;
  channels?: ResolvedChannelsOptions;
  listLimit: { default: number; max: number };
  canSubscribe: (userId: string, topic: string, scope: string | null) => boolean | Promise<boolean>;
  canAccessScope: (userId: string, scope: string) => boolean | Promise<boolean>;
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
  eventEmitter: false,
  notifySpans: 'withParent' as 'always' | 'withParent',
  maxPayloadBytes: 16 * 1024,
  maxRecipients: 10_000,
  listLimit: { default: 20, max: 100 },
  catchUpLimit: 1000,
  catchUpGraceMs: 5000,
  canSubscribe: (() => false) as (userId: string, topic: string) => boolean,
  canAccessScope: (() => false) as (userId: string, scope: string) => boolean,
  mutable: (() => true) as (type: string) => boolean,
  sessionTimeoutMs: 5000,
  sessionRecheckMs: 60_000,
  maxMessageBytes: 16 * 1024,
  eventRateLimit: { burst: 20, perSecond: 10 },
  maxConnectionsPerUser: 20,
  releaseHandshakeRequest: false,
  maxBulkRows: 10_000,
  minSnoozeMs: 60_000,
  maxSnoozed: 1000,
  redis: { adapter: 'classic' as const, key: 'nestjs-inbox' },
  retention: { intervalMs: 60_000, batchSize: 1000 },
  deliveryRecord: { flushMs: 5000 },
  http: { path: '/inbox/notifications', maxBodyBytes: 1024 * 1024, bodyTimeoutMs: 10_000 },
  amqp: { prefetch: 10, maxBodyBytes: 1024 * 1024 },
  channels: {
    pollMs: 1000,
    claimBatch: 100,
    maxAttempts: 5,
    retryBaseMs: 30_000,
    email: { after: 600_000, until: 'seen' as const },
    webPush: { after: 0, until: 'seen' as const, ttl: 86_400, urgency: 'normal' as const },
  },
} as const;
