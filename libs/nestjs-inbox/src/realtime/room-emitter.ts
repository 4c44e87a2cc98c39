import { Injectable } from '@nestjs/common';
import { mutedTypeRoom, topicRoom, userRoom } from '../notifications.internal-constants';
import { NotificationRow, toPayload } from '../persistence/notification-row';
import type { Badge } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent, type NotificationPayload, type ReadPayload, type StatePayload } from '../protocol';
import type { Audience } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';

/**
 * Emits committed notifications and state changes to the rooms of the users concerned, through
 * the namespace's adapter (so to every instance with Redis). Without a namespace (producer-only,
 * no Redis) there is nobody to emit to, and nothing happens. A notification skips the sockets
 * of the users who muted its type (they are in its muted room); a muted topic's are not in the
 * topic's room at all (TopicRooms).
 */
@Injectable()
export class RoomEmitter {
  constructor(private readonly namespace: InboxNamespace) {}

  /**
   * Emits stored rows (already committed) to their audience; returns whose count changed.
   * `local`: to this instance's sockets only (every instance delivers these rows itself).
   * `payloads`: the rows' payloads, if the caller built them already (one per row, in order).
   */
  deliver(rows: NotificationRow[], { local = false, payloads }: { local?: boolean; payloads?: NotificationPayload[] } = {}): Audience {
    const added: NonNullable<Audience['added']> = { all: {}, topics: {} };
    const audience: Audience = { users: [], topics: [], all: false, added };
    const nsp = local ? this.namespace.current?.local : this.namespace.current;
    const count = (by: Record<string, number>, type: string) => (by[type] = (by[type] ?? 0) + 1);
    rows.forEach((row, i) => {
      const payload = payloads?.[i] ?? toPayload(row);
      const muted = mutedTypeRoom(row.type);
      if (row.user_id !== null) {
        nsp?.to(userRoom(row.user_id)).except(muted).emit(ServerEvent.Notification, payload);
        audience.users.push(row.user_id);
      } else if (row.topic !== null) {
        nsp?.to(topicRoom(row.topic)).except(muted).emit(ServerEvent.Notification, payload);
        audience.topics.push(row.topic);
        count((added.topics[row.topic] ??= {}), row.type);
      } else {
        nsp?.except(muted).emit(ServerEvent.Notification, payload);
        audience.all = true;
        count(added.all, row.type);
      }
    });
    return audience;
  }

  /** Emits rows to one user's sockets only, whatever their audience (they are visible to the user). */
  deliverTo(userId: string, rows: NotificationRow[]): void {
    const room = this.namespace.current?.to(userRoom(userId));
    for (const row of rows) room?.emit(ServerEvent.Notification, toPayload(row));
  }

  /**
   * Tells every tab of `userId` what changed, and the new badge. A read is also sent as
   * `notifications:read`, which clients of the first protocol follow. `_scope`: the scope the
   * change was made in (`null`: unscoped), for the scopes' state messages (docs/scopes.md).
   */
  state(userId: string, state: StatePayload, badge: Badge, _scope: string | null = null): void {
    const room = this.namespace.current?.to(userRoom(userId));
    const read = state.change === 'read' ? readPayload(state) : null;
    if (read) room?.emit(ServerEvent.Read, read);
    room?.emit(ServerEvent.State, state);
    room?.emit(ServerEvent.Unread, { count: badge.unread, unseen: badge.unseen });
  }
}

/** The first protocol's form of a read: by ids, or all (a narrower filter has none). */
function readPayload(state: StatePayload): ReadPayload | null {
  if ('ids' in state) return { ids: state.ids };
  const { state: which, ...rest } = state.filter;
  return Object.keys(rest).length === 0 && which !== 'read' && which !== 'archived' ? { all: true } : null;
}
