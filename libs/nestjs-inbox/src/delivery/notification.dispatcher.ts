import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ServerEvent } from '../notifications.constants';
import { topicRoom, userRoom } from '../notifications.internal-constants';
import { NotificationRow, toPayload } from '../persistence/notification-row';
import { NotificationStore } from '../persistence/notification.store';
import type { ReadPayload } from '../protocol';

/** Users whose unread count is recomputed per query. */
const RECOUNT_CHUNK = 1000;
/**
 * How long stale unread counts wait to be recomputed together. Every recount is a query and
 * one more frame per user; under load the badge lags by at most this much, and a user who gets
 * ten notifications meanwhile gets one count, not ten (bench: throughput, CPU per notification).
 */
const RECOUNT_DELAY_MS = 100;

/**
 * Emits committed notifications and state changes to the sockets of the users concerned,
 * through the gateway's namespace (and so through its adapter, Redis or in-memory). Without
 * a namespace (a producer-only process) there is nobody to emit to here.
 */
@Injectable()
export class NotificationDispatcher {
  private readonly logger = new Logger('NotificationsModule');
  private nsp?: Namespace;
  private stale = new Set<string>();
  private recountScheduled = false;

  constructor(private readonly store: NotificationStore) {}

  attach(nsp: Namespace): void {
    this.nsp = nsp;
  }

  get namespace(): Namespace | undefined {
    return this.nsp;
  }

  /** Emits stored rows (already committed) to their audience, then refreshes unread counts. */
  deliver(rows: NotificationRow[]): void {
    const nsp = this.nsp;
    if (!nsp) return;
    for (const row of rows) {
      const payload = toPayload(row);
      if (row.user_id !== null) {
        nsp.to(userRoom(row.user_id)).emit(ServerEvent.Notification, payload);
        this.markStale([row.user_id]);
      } else if (row.topic !== null) {
        nsp.to(topicRoom(row.topic)).emit(ServerEvent.Notification, payload);
        this.markStale(this.localUsers(row.topic));
      } else {
        nsp.emit(ServerEvent.Notification, payload);
        this.markStale(this.localUsers());
      }
    }
  }

  /** Tells every tab of `userId` what was read and the new count. */
  read(userId: string, read: ReadPayload, unread: number): void {
    this.nsp?.to(userRoom(userId)).emit(ServerEvent.Read, read);
    this.nsp?.to(userRoom(userId)).emit(ServerEvent.Unread, { count: unread });
  }

  /** Schedules one batched recount of these users' unread counts. */
  markStale(userIds: Iterable<string>): void {
    if (!this.nsp) return;
    for (const id of userIds) this.stale.add(id);
    if (this.recountScheduled || this.stale.size === 0) return;
    this.recountScheduled = true;
    setTimeout(() => void this.recount(), RECOUNT_DELAY_MS).unref();
  }

  async joinTopic(userId: string, topic: string): Promise<void> {
    this.nsp?.in(userRoom(userId)).socketsJoin(topicRoom(topic));
  }

  async leaveTopic(userId: string, topic: string): Promise<void> {
    this.nsp?.in(userRoom(userId)).socketsLeave(topicRoom(topic));
  }

  async isOnline(userId: string): Promise<boolean> {
    if (!this.nsp) return false;
    return (await this.nsp.in(userRoom(userId)).fetchSockets()).length > 0;
  }

  disconnectUser(userId: string): void {
    this.nsp?.in(userRoom(userId)).disconnectSockets(true);
  }

  /** Users with a socket on this instance (in `topic`'s room, if given). */
  private localUsers(topic?: string): Set<string> {
    const users = new Set<string>();
    const nsp = this.nsp;
    if (!nsp) return users;
    const ids = topic === undefined ? nsp.sockets.keys() : (nsp.adapter.rooms.get(topicRoom(topic)) ?? []);
    for (const id of ids) {
      const userId = nsp.sockets.get(id)?.data.userId;
      if (userId) users.add(userId);
    }
    return users;
  }

  private async recount(): Promise<void> {
    const users = [...this.stale];
    this.stale = new Set();
    try {
      for (let i = 0; i < users.length; i += RECOUNT_CHUNK) {
        const counts = await this.store.unreadCounts(users.slice(i, i + RECOUNT_CHUNK));
        for (const [userId, count] of counts) {
          this.nsp?.to(userRoom(userId)).emit(ServerEvent.Unread, { count });
        }
      }
    } catch (err) {
      this.logger.warn(`unread counts not refreshed: ${(err as Error).message}`);
    } finally {
      this.recountScheduled = false;
      if (this.stale.size > 0) this.markStale([]);
    }
  }
}
