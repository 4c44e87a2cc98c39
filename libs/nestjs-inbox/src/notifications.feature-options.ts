import type { RedisClientType } from 'redis';

/**
 * The options of the module's optional features: several instances (`redis`), `retention`,
 * `deliveryRecord`, and the producer doors (`http`, `amqp`). Their defaults are in NOTIFICATIONS_DEFAULTS
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
   * Days the channels' records are kept (docs/channels.md): the lines of `inbox_channel_log`
   * and the sends decided (sent, skipped, failed, cancelled) this long ago. Default: `days`;
   * absent both, they are kept.
   */
  channelDays?: number;
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

export interface NotificationsDeliveryRecordOptions {
  /**
   * How often each instance adds the live deliveries it counted to `inbox_delivery`, in ms (one
   * statement per flush, and one at shutdown): at most this much is lost if a process dies.
   * @default 5000
   */
  flushMs?: number;
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

/** The `deliveryRecord` option with its defaults applied. */
export type ResolvedDeliveryRecordOptions = Required<NotificationsDeliveryRecordOptions>;

/** The `redis` option with its defaults applied. */
export type ResolvedRedisOptions = NotificationsRedisOptions & Required<Pick<NotificationsRedisOptions, 'adapter' | 'key'>>;

/** A channel a notification may go out on besides the inbox (docs/channels.md). */
export type ChannelName = 'email' | 'webPush';

/** What cancels a pending send: the user saw the notification (the default), or read it. */
export type ChannelUntil = 'seen' | 'read';

/** One notification as a channel's message shows it. */
export interface ChannelItem {
  id: string;
  type: string;
  title: string | null;
  body: string | null;
  url: string | null;
  actions: { label: string; url?: string; event?: string }[];
  scope: string | null;
  createdAt: Date;
}

/** What `render` gets: the user, the inbox's scope, and the notifications of one e-mail (several in a digest, oldest first). */
export interface EmailRenderContext {
  userId: string;
  scope: string | null;
  items: ChannelItem[];
  /** The host's `unsubscribeUrl` for this user and scope, if it gave one. */
  unsubscribeUrl: string | null;
}

/** An e-mail as `render` makes it: `text` always, `html` optional. */
export interface RenderedEmail {
  subject: string;
  text: string;
  html?: string;
}

/**
 * Anything with nodemailer's `sendMail` (a `Transporter` of `nodemailer.createTransport`): typed
 * by shape, so that hosts without nodemailer need not have its types.
 */
export interface MailTransporter {
  sendMail(mail: Record<string, unknown>): Promise<unknown>;
}

export interface EmailChannelOptions {
  /**
   * Where the mail goes: an `smtp://` / `smtps://` URL, nodemailer transport options, or a
   * nodemailer `Transporter` (anything with `sendMail`). Needs the package `nodemailer` unless
   * a Transporter is given.
   */
  transport: string | Record<string, unknown> | MailTransporter;
  /** The sender, e.g. `'Acme <no-reply@acme.example>'`; its domain also ends each `Message-ID`. */
  from: string;
  /** The user's address, or `null` for none (the send is skipped and recorded as such). */
  address: (userId: string) => Promise<string | null> | string | null;
  /**
   * How long a notification stays unseen (or unread, see `until`) before it is e-mailed, in ms.
   * @default 600000
   */
  after?: number;
  /**
   * What cancels the e-mail: `'seen'` (shown in an inbox) or `'read'`.
   * @default 'seen'
   */
  until?: ChannelUntil;
  /**
   * A digest window, in ms: the first pending e-mail of an inbox waits this long more, then goes
   * out as one e-mail with every other one due by then. Absent: one e-mail per notification.
   */
  digest?: number;
  /** The host's template; absent, a plain text and escaped HTML one (title, body, url, actions, unsubscribe link). */
  render?: (ctx: EmailRenderContext) => RenderedEmail | Promise<RenderedEmail>;
  /** The types that may go by e-mail; absent, every type (a notification's `channels.email` overrides it). */
  types?: string[];
  /** The site's address, e.g. `'https://app.example.com'`: the default template resolves site-relative links against it (without it, it leaves them out). */
  baseUrl?: string;
  /** The link the default template ends with, which the host routes (e.g. to its preferences page); absent, none. */
  unsubscribeUrl?: (userId: string, scope: string | null) => string | null;
}

export interface WebPushChannelOptions {
  /** The VAPID identity the push services see: `subject` a `mailto:` or `https:` URL, the keys of `web-push generate-vapid-keys`. */
  vapid: { subject: string; publicKey: string; privateKey: string };
  /** How long a notification stays unseen before it is pushed, in ms (Default: 0, at once). */
  after?: number;
  /** What cancels the push: `'seen'` or `'read'` (Default: 'seen'). */
  until?: ChannelUntil;
  /** How long the push service keeps an undelivered push, in seconds (Default: 86400). */
  ttl?: number;
  /** The push's urgency (Default: 'normal'). */
  urgency?: 'very-low' | 'low' | 'normal' | 'high';
  /** The types that are pushed unless a notification says otherwise; absent, every type. */
  types?: string[];
}

/** What `broadcastAudience` is asked: the broadcast whose sends are planned. */
export interface BroadcastAudienceContext {
  /** The broadcast's scope: its inbox, `null` for an unscoped one (to every user of the site). */
  scope: string | null;
  /** The stored broadcast. */
  notification: { id: string; type: string };
  /** The channels it asked for and are configured. */
  channels: ChannelName[];
}

/**
 * A broadcast's audience as the host knows it: user ids, one at a time or in arrays (a page of
 * its users table), pulled as the planner goes (a batch is stored before the next is asked).
 */
export type BroadcastAudience = (
  ctx: BroadcastAudienceContext,
) => AsyncIterable<string | readonly string[]> | Iterable<string | readonly string[]>;

export interface NotificationsChannelsOptions {
  /** E-mail through nodemailer (docs/channels.md); absent, nothing is e-mailed. */
  email?: EmailChannelOptions;
  /** Web Push through web-push (docs/channels.md); absent, nothing is pushed. */
  webPush?: WebPushChannelOptions;
  /**
   * The users a broadcast that asks for a channel goes out to on it: the library cannot know
   * the users who never connected. Planned after commit, in batches, in the background. Absent:
   * the users the inbox has state for (docs/channels.md). A topic publication always goes to
   * its subscribers in its scope.
   */
  broadcastAudience?: BroadcastAudience;
  /**
   * How often each instance looks for due sends, in ms.
   * @default 1000
   */
  pollMs?: number;
  /**
   * Sends one instance claims at once (one transaction).
   * @default 100
   */
  claimBatch?: number;
  /**
   * Attempts of one send before it is given up (recorded `failed`).
   * @default 5
   */
  maxAttempts?: number;
  /**
   * The wait before the first retry, in ms; doubled after each failure (with jitter).
   * @default 30000
   */
  retryBaseMs?: number;
}

/** The `channels` option with its defaults applied. */
export interface ResolvedChannelsOptions extends Required<Omit<NotificationsChannelsOptions, 'email' | 'webPush' | 'broadcastAudience'>> {
  broadcastAudience?: BroadcastAudience;
  email?: EmailChannelOptions & Required<Pick<EmailChannelOptions, 'after' | 'until'>>;
  webPush?: WebPushChannelOptions & Required<Pick<WebPushChannelOptions, 'after' | 'until' | 'ttl' | 'urgency'>>;
}
