import type { ManagerOptions, SocketOptions } from 'socket.io-client';
import type { CursorStorage } from './cursor-storage';

/** What `createInbox` / `new InboxClient` take; every field has a default. */
export interface InboxOptions {
  /** Origin of the server; default: the page's own origin. */
  url?: string;
  /** Socket.IO namespace of the gateway; default `/notifications`. */
  namespace?: string;
  /** Page size of `loadMore`; default 20. */
  pageSize?: number;
  /** Milliseconds to wait for an acknowledgement; default 10 000. */
  timeout?: number;
  /** Keep the cursor across page loads, per user (and scope): give the signed-in user's id. */
  persistCursor?: { userId: string; storage?: CursorStorage };
  /**
   * The scope (workspace, tenant) to work in: the feed, badges, counts and preferences of that
   * scope, with the unscoped notifications. The server lets the socket in only if its
   * `canAccessScope` says so (else `state` is `unauthorized` with `FORBIDDEN`). Default: `null`,
   * unscoped. `switchScope` changes it without a page reload.
   */
  scope?: string | null;
  /** Connect at once; default `true`. */
  autoConnect?: boolean;
  /** Passed to socket.io-client (`path`, `transports`, …); the client sets `auth` itself. */
  socket?: Partial<ManagerOptions & SocketOptions>;
}
