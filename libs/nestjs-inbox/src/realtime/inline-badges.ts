import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { inboxRoom, mutedTypeRoom, userRoom } from '../notifications.internal-constants';
import { type Inbox, inboxKey } from '../persistence/inbox-model';
import type { NotificationRow } from '../persistence/notification-row';
import { ServerEvent, type NotificationPayload } from '../protocol';
import { ClusterEvents } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';
import { ShownCounts } from './shown-counts';
import { inboxOf } from './socket-inbox';

/** What InlineBadges reads of a socket: its inbox, what its handshake asked for, whether it watches views. */
interface BadgeSocket {
  data: { userId: string; scope?: string | null; inlineBadge?: boolean; watches?: number };
}

/**
 * Delivers a new direct notification with its inbox's badge in the same frame (a second
 * argument of `notification`), instead of a Postgres recount and a `notifications:unread` frame
 * per inbox later, when the notification's effect on the count is known here:
 *
 * - a new direct row, ungrouped (a grouped one may supersede an unread item: its effect is a
 *   recount's to find): unread and unseen for every inbox that shows it, so each count goes up
 *   by one;
 * - every socket of the audience on this instance asked for it at the handshake
 *   (`auth.inlineBadge`; an older client must still get its `notifications:unread`), never
 *   asked for view counts (they follow from a recount) and has not muted the type;
 * - each of those inboxes' badge is known here (ShownCounts: what its sockets were last sent);
 * - nobody elsewhere holds sockets of these inboxes: no cluster, or a delivery every instance
 *   makes itself (`local`).
 *
 * Otherwise `deliver` returns `false` and the caller emits and recounts as before. A recount
 * that was reading while a badge was raised here recounts again (UnreadRecounter), so a change
 * the raise did not know of (a read in another tab crossing the notification) is still sent.
 */
@Injectable()
export class InlineBadges {
  constructor(
    private readonly namespace: InboxNamespace,
    private readonly events: ClusterEvents,
    private readonly shown: ShownCounts,
  ) {}

  /** Emits `row` (a direct one) with its badge to each inbox of its audience here; `false`: nothing sent, deliver it as before. */
  deliver(row: NotificationRow, payload: NotificationPayload, local: boolean): boolean {
    const nsp = this.namespace.current;
    if (!nsp || row.user_id === null || row.group_key || (this.events.clustered && !local)) return false;
    const scope = row.scope || null;
    const ids = nsp.adapter.rooms.get(scope === null ? userRoom(row.user_id) : inboxRoom({ userId: row.user_id, scope }));
    if (!ids) return false;
    const muted = nsp.adapter.rooms.get(mutedTypeRoom(row.type));
    if (ids.size === 1) return this.deliverToOne(nsp.sockets.get(ids.values().next().value!), muted, payload);
    // Most users have one inbox online (one scope): no Map for them.
    let first: Inbox | undefined;
    let more: Map<string, Inbox> | undefined;
    for (const id of ids) {
      const socket = nsp.sockets.get(id) as BadgeSocket | undefined;
      // A socket that ever asked for view counts (ViewCounts: `watches`, set before its first read answers) takes the recount, which refreshes them.
      if (!socket || socket.data.inlineBadge !== true || socket.data.watches || muted?.has(id)) return false;
      if (first === undefined) first = inboxOf(socket);
      else if ((socket.data.scope ?? null) !== first.scope) {
        const inbox = inboxOf(socket);
        (more ??= new Map([[inboxKey(first), first]])).set(inboxKey(inbox), inbox);
      }
    }
    const inboxes = more ? [...more.values()] : first ? [first] : [];
    const keys = inboxes.map(inboxKey);
    if (keys.length === 0 || !keys.every((key) => this.shown.known(key))) return false;
    const to = local ? nsp.local : nsp;
    for (const [i, inbox] of inboxes.entries()) {
      const badge = this.shown.raise(keys[i], 1)!;
      to.to(inboxRoom(inbox)).emit(ServerEvent.Notification, payload, { count: badge.unread, unseen: badge.unseen });
    }
    return true;
  }

  /**
   * The common audience, one socket: emitted on the socket itself. `nsp.to(room).emit` would
   * build a broadcast operator, its Sets of rooms and exceptions, and look the room up again in
   * the adapter to find the socket found here already (bench 2: ~4% of the server's busy samples).
   * The frame and the outgoing listeners (ShownCounts) are the same.
   */
  private deliverToOne(socket: Socket | undefined, muted: Set<string> | undefined, payload: NotificationPayload): boolean {
    const data = (socket as BadgeSocket | undefined)?.data;
    if (!socket || !data || data.inlineBadge !== true || data.watches || muted?.has(socket.id)) return false;
    const badge = this.shown.raise(inboxKey(inboxOf(socket as BadgeSocket)), 1);
    if (badge === undefined) return false;
    socket.emit(ServerEvent.Notification, payload, { count: badge.unread, unseen: badge.unseen });
    return true;
  }
}
