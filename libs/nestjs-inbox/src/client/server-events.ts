import { ServerEvent, type NotificationPayload, type SyncedPayload } from '../protocol';
import type { Connection } from './connection';
import type { Counts } from './counts';
import type { Cursor } from './cursor';
import type { InboxEvents } from './inbox-events';
import { withSafeLinks } from './notification-list';
import type { TypedEmitter } from './typed-emitter';
import type { ViewState } from './view-state';

/** The client's parts that what the server pushes moves. */
export interface ServerEventTargets {
  readonly connection: Connection;
  readonly cursor: Cursor;
  readonly shown: ViewState;
  readonly counter: Counts;
  readonly events: TypedEmitter<InboxEvents>;
}

/**
 * Applies what the server pushes, for the connection's whole life: a notification (live or in
 * the catch-up) moves the cursor and the view and is announced once per id; the catch-up's end
 * resumes the cursor, the badges, the watched counts and the view; badges, reads and state
 * changes from other tabs and devices land where they belong.
 */
export function followServerEvents(targets: ServerEventTargets): void {
  const { connection, cursor, shown, counter, events } = targets;

  /** Received whatever the view, held if in it. */
  const pushed = (n: NotificationPayload): void => {
    const known = cursor.hasReceived(n.id) || shown.holds(n.id);
    cursor.receive(n.id);
    shown.pushed(n);
    if (!known) events.emit('notification', n);
  };

  const synced = async (p: SyncedPayload): Promise<void> => {
    // Resume from where this catch-up ended, even if nothing reached this client.
    if (p.cursor) cursor.move(p.cursor);
    counter.setBadges(p.unread, p.unseen);
    connection.caughtUp();
    shown.catchUpEnded(p.truncated);
    counter.rewatch();
    await shown.resync();
  };

  connection.onConnect(() => shown.catchUpStarted());
  // Links are checked again before anything reaches the page (see withSafeLinks).
  connection.on(ServerEvent.Notification, (n, badge) => {
    pushed(withSafeLinks(n));
    if (typeof badge?.count === 'number' && typeof badge.unseen === 'number') counter.setBadges(badge.count, badge.unseen);
  });
  connection.on(ServerEvent.Synced, (p) => void synced(p));
  connection.on(ServerEvent.Unread, (p) => counter.setBadges(p.count, p.unseen));
  connection.on(ServerEvent.Read, (read) => shown.applyRead(read));
  connection.on(ServerEvent.State, (state) => shown.applyState(state));
  connection.on(ServerEvent.Counts, ({ counts }) => counter.pushed(counts));
}
