/**
 * The wire protocol between the gateway and the browser: event names, the default namespace,
 * the id format and the payload types, in one place for the server, the browser client, the
 * validation schemas and the tests. The browser client imports this file, so it imports
 * nothing from Nest or Node.
 */

/** Default Socket.IO namespace of the notifications gateway. */
export const DEFAULT_NAMESPACE = '/notifications';

/** Events the server sends to the browser. */
export const ServerEvent = {
  Notification: 'notification',
  Synced: 'notifications:synced',
  Unread: 'notifications:unread',
  Read: 'notifications:read',
  Error: 'notifications:error',
} as const;

/** Events the browser sends to the server; each one is acknowledged. */
export const ClientEvent = {
  List: 'notifications:list',
  Read: 'notifications:read',
  ReadAll: 'notifications:read-all',
  Subscribe: 'topics:subscribe',
  Unsubscribe: 'topics:unsubscribe',
} as const;

/**
 * A notification id on the wire: a Postgres `bigint` as a decimal string, positive, without
 * leading zeros (so ids compare by length, then lexicographically). The server also checks
 * that it fits a signed 64-bit integer.
 */
export const NOTIFICATION_ID_PATTERN = /^[1-9][0-9]{0,18}$/;

/** Most ids a client lists in `auth.held`. */
export const MAX_HELD_IDS = 256;

/** A notification as the browser receives it. Ids are decimal strings (Postgres `bigint`). */
export interface NotificationPayload {
  id: string;
  type: string;
  title: string | null;
  body: string | null;
  data: Record<string, unknown> | null;
  /** The topic it was published to; `null` for direct notifications and broadcasts. */
  topic: string | null;
  /** `true` for a broadcast to every user. */
  broadcast: boolean;
  createdAt: string;
  readAt: string | null;
}

export interface ListQuery {
  /** Only notifications older than this id (the `nextCursor` of the previous page). */
  before?: string;
  /** Page size; defaults to the module's `listLimit.default`. */
  limit?: number;
  unreadOnly?: boolean;
  type?: string;
}

export interface ListPage {
  items: NotificationPayload[];
  /** Pass as `before` to get the next (older) page; `null` on the last page. */
  nextCursor: string | null;
}

export interface AckError {
  error: { code: ErrorCode; message: string };
}

export type ErrorCode =
  | 'INVALID_INPUT'
  | 'FORBIDDEN'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'TOO_MANY_CONNECTIONS'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE'
  | 'INTERNAL';

export type Ack<T> = T | AckError;

export interface SyncedPayload {
  unread: number;
  /** More notifications were missed than the catch-up sends; page older ones with `list`. */
  truncated: boolean;
}

export type ReadPayload = { ids: string[] } | { all: true };

/** Events the server emits, for typed Socket.IO clients. */
export interface ServerToClientEvents {
  [ServerEvent.Notification]: (n: NotificationPayload) => void;
  [ServerEvent.Synced]: (p: SyncedPayload) => void;
  [ServerEvent.Unread]: (p: { count: number }) => void;
  [ServerEvent.Read]: (p: ReadPayload) => void;
  [ServerEvent.Error]: (p: AckError['error']) => void;
}

/** Events the browser emits, each with an acknowledgement. */
export interface ClientToServerEvents {
  [ClientEvent.List]: (q: ListQuery, ack: (r: Ack<ListPage>) => void) => void;
  [ClientEvent.Read]: (p: { ids: string[] }, ack: (r: Ack<{ unread: number }>) => void) => void;
  [ClientEvent.ReadAll]: (p: Record<string, never>, ack: (r: Ack<{ unread: number }>) => void) => void;
  [ClientEvent.Subscribe]: (p: { topic: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
  [ClientEvent.Unsubscribe]: (p: { topic: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
}

/** What the browser may send in the handshake's `auth`. */
export interface HandshakeAuth {
  /** Id of the newest notification the client already holds. */
  cursor?: string;
  /**
   * Ids the client holds just below `cursor`, newest first, at most `MAX_HELD_IDS`. The
   * catch-up resends older rows that may have been missed (see Catch-up in the README); those
   * listed here it leaves out, so a client that lost nothing gets nothing twice.
   */
  held?: string[];
}
