import { Injectable } from '@nestjs/common';
import { topicRoom, userRoom } from '../notifications.internal-constants';
import { NotificationRow, toPayload } from '../persistence/notification-row';
import { ServerEvent, type ReadPayload } from '../protocol';
import type { Audience } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';

/**
 * Emits committed notifications and read state to the rooms of the users concerned, through
 * the namespace's adapter (so to every instance with Redis). Without a namespace (producer-only,
 * no Redis) there is nobody to emit to, and nothing happens.
 */
@Injectable()
export class RoomEmitter {
  constructor(private readonly namespace: InboxNamespace) {}

  /**
   * Emits stored rows (already committed) to their audience; returns whose count changed.
   * `local`: to this instance's sockets only (every instance delivers these rows itself).
   */
  deliver(rows: NotificationRow[], { local = false } = {}): Audience {
    const added = { all: 0, topics: {} as Record<string, number> };
    const audience: Audience = { users: [], topics: [], all: false, added };
    const nsp = local ? this.namespace.current?.local : this.namespace.current;
    for (const row of rows) {
      const payload = toPayload(row);
      if (row.user_id !== null) {
        nsp?.to(userRoom(row.user_id)).emit(ServerEvent.Notification, payload);
        audience.users.push(row.user_id);
      } else if (row.topic !== null) {
        nsp?.to(topicRoom(row.topic)).emit(ServerEvent.Notification, payload);
        audience.topics.push(row.topic);
        added.topics[row.topic] = (added.topics[row.topic] ?? 0) + 1;
      } else {
        nsp?.emit(ServerEvent.Notification, payload);
        audience.all = true;
        added.all++;
      }
    }
    return audience;
  }

  /** Emits rows to one user's sockets only, whatever their audience (they are visible to the user). */
  deliverTo(userId: string, rows: NotificationRow[]): void {
    const room = this.namespace.current?.to(userRoom(userId));
    for (const row of rows) room?.emit(ServerEvent.Notification, toPayload(row));
  }

  /** Tells every tab of `userId` what was read, and the new count. */
  read(userId: string, read: ReadPayload, unread: number): void {
    const room = this.namespace.current?.to(userRoom(userId));
    room?.emit(ServerEvent.Read, read);
    room?.emit(ServerEvent.Unread, { count: unread });
  }
}
