import { Injectable } from '@nestjs/common';
import { inboxRoom, mutedTypeRoom, scopeRoom, topicRoom, userRoom } from '../notifications.internal-constants';
import type { Inbox } from '../persistence/inbox-model';
import { NotificationRow, toPayload } from '../persistence/notification-row';
import type { Badge } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent, type NotificationPayload, type ReadPayload, type StatePayload } from '../protocol';
import type { Audience } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';
import { InlineBadges } from './inline-badges';

/**
 * Emits committed notifications and state changes to the rooms of the users concerned, through
 * the namespace's adapter (so to every instance with Redis). Without a namespace (producer-only,
 * no Redis) there is nobody to emit to, and nothing happens. A notification skips the sockets
 * of the inboxes that muted its type (they are in its muted room); a muted topic's are not in the
 * topic's room at all (TopicRooms).
 *
 * Scopes (see the rooms in notifications.internal-constants): a notification of scope S reaches
 * only sockets of scope S (its user's inbox room, S's room, the topic's room of S); an unscoped
 * one reaches every socket of its audience, whatever their scope.
 */
@Injectable()
export class RoomEmitter {
  constructor(
    private readonly namespace: InboxNamespace,
    private readonly inline: InlineBadges,
  ) {}

  /**
   * Emits stored rows (already committed) to their audience; returns whose count changed and
   * is to be recounted (not the inboxes a direct row reached with its badge: InlineBadges).
   * `local`: to this instance's sockets only (every instance delivers these rows itself).
   * `payloads`: the rows' payloads, if the caller built them already (one per row, in order).
   */
  deliver(rows: NotificationRow[], { local = false, payloads }: { local?: boolean; payloads?: NotificationPayload[] } = {}): Audience {
    // Made on the first row that needs a recount: a delivery that went out with its badges
    // (InlineBadges, nearly every direct notification) shares NOBODY and allocates nothing.
    let audience: Required<Audience> | undefined;
    const nsp = local ? this.namespace.current?.local : this.namespace.current;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const payload = payloads?.[i] ?? toPayload(row);
      const scope = row.scope || null; // '' is how the table spells unscoped; never a scope
      if (row.user_id !== null) {
        if (this.inline.deliver(row, payload, local)) continue;
        const room = scope === null ? userRoom(row.user_id) : inboxRoom({ userId: row.user_id, scope });
        nsp?.to(room).except(mutedTypeRoom(row.type)).emit(ServerEvent.Notification, payload);
        (audience ??= newAudience()).users.push(row.user_id);
      } else if (row.topic !== null || scope !== null) {
        const room = row.topic !== null ? topicRoom(row.topic, scope) : scopeRoom(scope!);
        nsp?.to(room).except(mutedTypeRoom(row.type)).emit(ServerEvent.Notification, payload);
        audience ??= newAudience();
        audience.rooms.push(room);
        count((audience.added.rooms[room] ??= {}), row.type);
      } else {
        nsp?.except(mutedTypeRoom(row.type)).emit(ServerEvent.Notification, payload);
        audience ??= newAudience();
        audience.all = true;
        count(audience.added.all, row.type);
      }
    }
    return audience ?? NOBODY;
  }

  /**
   * Emits rows `inbox` shows to the sockets that show them, whatever their audience: a scoped
   * inbox's to its sockets; the unscoped inbox's (unscoped rows, which every scope shows) to
   * every socket of the user.
   */
  deliverTo(inbox: Inbox, rows: NotificationRow[]): void {
    const room = this.namespace.current?.to(inbox.scope === null ? userRoom(inbox.userId) : inboxRoom(inbox));
    for (const row of rows) room?.emit(ServerEvent.Notification, toPayload(row));
  }

  /**
   * Tells every tab of the user what changed in `inbox`, and that inbox's tabs its new badge.
   * Every scope's tabs get the change, with `scope` (the client applies it to an item iff the
   * item is unscoped or of that scope): state on an unscoped notification is shared by all the
   * user's scopes. Other scopes' badges follow from the recount (UnreadRecounter.markStale). A
   * read is also sent as `notifications:read`, which clients of the first protocol follow.
   */
  state(inbox: Inbox, state: StatePayload, badge: Badge): void {
    const nsp = this.namespace.current;
    const room = nsp?.to(userRoom(inbox.userId));
    const scoped: StatePayload = { ...state, scope: inbox.scope };
    const read = state.change === 'read' ? readPayload(scoped) : null;
    if (read) room?.emit(ServerEvent.Read, read);
    room?.emit(ServerEvent.State, scoped);
    nsp?.to(inboxRoom(inbox)).emit(ServerEvent.Unread, { count: badge.unread, unseen: badge.unseen });
  }
}

/** The first protocol's form of a read: by ids, or all (a narrower filter has none). */
function readPayload(state: StatePayload): ReadPayload | null {
  const scope = state.scope ?? null;
  if ('ids' in state) return { ids: state.ids, scope };
  const { state: which, ...rest } = state.filter;
  return Object.keys(rest).length === 0 && which !== 'read' && which !== 'archived' ? { all: true, scope } : null;
}

/** The audience of a delivery that leaves nothing to recount (never changed: `refresh` ignores it). */
const NOBODY: Audience = Object.freeze({
  users: Object.freeze([]) as unknown as string[],
  rooms: Object.freeze([]) as unknown as string[],
  all: false,
});

function newAudience(): Required<Audience> {
  return { users: [], rooms: [], all: false, added: { all: {}, rooms: {} } };
}

function count(by: Record<string, number>, type: string): void {
  by[type] = (by[type] ?? 0) + 1;
}
