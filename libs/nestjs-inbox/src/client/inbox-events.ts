import type { Action, NotificationPayload } from '../protocol';
import type { InboxError } from './inbox.errors';

/** `connected` means caught up: the server's catch-up is over and new notifications arrive live. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'unauthorized';

export interface InboxEvents {
  /** The list changed: added, read, seen, archived, deleted, a page loaded, or another view. */
  change: (notifications: readonly NotificationPayload[]) => void;
  /**
   * A notification the server pushed that this client had not received (live or in the
   * catch-up), whether or not it is in the current view.
   */
  notification: (notification: NotificationPayload) => void;
  /** The user's unread count (the default view's unread notifications). */
  unread: (count: number) => void;
  /** The user's unseen count: what a bell's badge shows. */
  unseen: (count: number) => void;
  /** The watched views' counts (`watchCounts`), whenever one changes. */
  counts: (counts: Readonly<Record<string, number>>) => void;
  /** `act(notification, action)` was called for an action with an `event`: the host's page handles it. */
  action: (action: Action, notification: NotificationPayload) => void;
  /** `error` is set when the server refused the connection. */
  state: (state: ConnectionState, error?: InboxError) => void;
  /** The connection's transport changed, or an upgrade to WebSocket failed (see `transport`). */
  transport: (transport: TransportState) => void;
}

/**
 * How the open connection travels. A browser gives no reason for a WebSocket that fails to
 * open, so `reason` says only what is known: `upgrade-failed` when the connection began on
 * HTTP long-polling and its upgrade to WebSocket failed, leaving it on polling. The causes: a
 * proxy that does not forward `Upgrade`, a network that blocks WebSocket, or the server
 * refusing the upgrade's Origin (it then logs the origin; docs/security.md, "The Origin rule").
 * It works on polling meanwhile, with a request per message.
 */
export interface TransportState {
  /** `polling` (HTTP long-polling) or `websocket`. */
  name: string;
  reason?: 'upgrade-failed';
}
