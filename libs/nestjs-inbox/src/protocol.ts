/**
 * The wire protocol between the gateway and the browser. Types only: the browser client
 * imports this file, so it must not import anything from Nest or Node.
 */

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
  notification: (n: NotificationPayload) => void;
  'notifications:synced': (p: SyncedPayload) => void;
  'notifications:unread': (p: { count: number }) => void;
  'notifications:read': (p: ReadPayload) => void;
  'notifications:error': (p: AckError['error']) => void;
}

/** Events the browser emits, each with an acknowledgement. */
export interface ClientToServerEvents {
  'notifications:list': (q: ListQuery, ack: (r: Ack<ListPage>) => void) => void;
  'notifications:read': (p: { ids: string[] }, ack: (r: Ack<{ unread: number }>) => void) => void;
  'notifications:read-all': (p: Record<string, never>, ack: (r: Ack<{ unread: number }>) => void) => void;
  'topics:subscribe': (p: { topic: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
  'topics:unsubscribe': (p: { topic: string }, ack: (r: Ack<{ ok: true }>) => void) => void;
}

/** What the browser may send in the handshake's `auth`. */
export interface HandshakeAuth {
  /** Id of the newest notification the client already holds. */
  cursor?: string;
}
