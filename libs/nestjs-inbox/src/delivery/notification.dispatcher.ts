import { Injectable, Logger } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import { ServerEvent } from '../protocol';
import { NotificationsError } from '../notifications.errors';
import { topicRoom, userRoom } from '../notifications.internal-constants';
import { NotificationRow, toPayload } from '../persistence/notification-row';
import { NotificationStore } from '../persistence/notification.store';
import type { ReadPayload } from '../protocol';
import { RedisFanout } from './redis-fanout';

/** Users whose unread count is recomputed per query. */
const RECOUNT_CHUNK = 1000;
/**
 * How long stale unread counts wait to be recomputed together. Every recount is a query and
 * one more frame per user; under load the badge lags by at most this much, and a user who gets
 * ten notifications meanwhile gets one count, not ten (bench: throughput, CPU per notification).
 */
const RECOUNT_DELAY_MS = 100;
/** Disconnects kept while Redis is away, to send to the other instances when it returns. */
const MAX_DEFERRED_DISCONNECTS = 10_000;
/** How long after Redis returns they are sent again to instances that reconnect later. */
const DISCONNECT_GRACE_MS = 15_000;
/** Server-side event: these audiences' unread counts changed; each instance recounts its own sockets. */
const STALE_EVENT = 'nestjs-inbox:stale';

/** Server-side event: close a user's sockets opened before a time (a logout made while Redis was away). */
const DISCONNECT_EVENT = 'nestjs-inbox:disconnect';

/** Server-side event: a user's sockets join or leave a topic room; every instance acknowledges. */
const TOPIC_EVENT = 'nestjs-inbox:topic';
/** Longest wait for those acknowledgements (the adapter never answers if Redis fails meanwhile). */
const TOPIC_ACK_MS = 5000;

interface TopicChange {
  userId: string;
  topic: string;
  join: boolean;
}

/** Whose unread count a change touches. */
interface Audience {
  users: string[];
  topics: string[];
  all: boolean;
}

/**
 * Emits committed notifications and state changes to the sockets of the users concerned,
 * through the gateway's namespace (and so through its adapter, Redis or in-memory). A
 * producer-only process has a namespace only with Redis (see ProducerNamespace); without
 * one there is nobody to emit to here.
 */
@Injectable()
export class NotificationDispatcher {
  private readonly logger = new Logger('NotificationsModule');
  private nsp?: Namespace;
  private stale = new Set<string>();
  private recountScheduled = false;
  /** User id → when they were disconnected, for the instances Redis could not reach then. */
  private deferredDisconnects = new Map<string, number>();
  private forgetDisconnects?: NodeJS.Timeout;

  constructor(
    private readonly store: NotificationStore,
    private readonly fanout: RedisFanout,
  ) {
    fanout.onUp(() => {
      this.replayDisconnects();
      this.forgetDisconnects = setTimeout(() => this.deferredDisconnects.clear(), DISCONNECT_GRACE_MS).unref();
    });
    fanout.onDown(() => clearTimeout(this.forgetDisconnects));
  }

  attach(nsp: Namespace): void {
    this.fanout.join(nsp);
    nsp.on(STALE_EVENT, (audience: Audience) => this.staleHere(audience));
    nsp.on(DISCONNECT_EVENT, ({ userId, before }: { userId: string; before: number }) =>
      this.disconnectHere(userId, before),
    );
    nsp.on(TOPIC_EVENT, (change: TopicChange, ack: (ok: boolean) => void) => {
      this.topicHere(change);
      ack(true);
    });
    this.nsp = nsp;
  }

  get namespace(): Namespace | undefined {
    return this.nsp;
  }

  /** Emits stored rows (already committed) to their audience, then refreshes unread counts. */
  deliver(rows: NotificationRow[]): void {
    const nsp = this.nsp;
    if (!nsp) return;
    const audience: Audience = { users: [], topics: [], all: false };
    for (const row of rows) {
      const payload = toPayload(row);
      if (row.user_id !== null) {
        nsp.to(userRoom(row.user_id)).emit(ServerEvent.Notification, payload);
        audience.users.push(row.user_id);
      } else if (row.topic !== null) {
        nsp.to(topicRoom(row.topic)).emit(ServerEvent.Notification, payload);
        audience.topics.push(row.topic);
      } else {
        nsp.emit(ServerEvent.Notification, payload);
        audience.all = true;
      }
    }
    this.refresh(audience);
  }

  /** Emits rows to one user's sockets only, whatever their audience (they are visible to the user). */
  deliverTo(userId: string, rows: NotificationRow[]): void {
    for (const row of rows) this.nsp?.to(userRoom(userId)).emit(ServerEvent.Notification, toPayload(row));
    this.markStale([userId]);
  }

  /** Tells every tab of `userId` what was read and the new count. */
  read(userId: string, read: ReadPayload, unread: number): void {
    this.nsp?.to(userRoom(userId)).emit(ServerEvent.Read, read);
    this.nsp?.to(userRoom(userId)).emit(ServerEvent.Unread, { count: unread });
  }

  /** Refreshes these users' unread counts on every instance. */
  markStale(userIds: Iterable<string>): void {
    this.refresh({ users: [...userIds], topics: [], all: false });
  }

  /**
   * Schedules one batched recount for the users among `userIds` with a socket on this
   * instance: each instance counts for its own sockets, so nobody is counted twice and
   * offline users not at all.
   */
  recountHere(userIds: Iterable<string>): void {
    if (!this.nsp) return;
    for (const id of userIds) this.stale.add(id);
    if (this.recountScheduled || this.stale.size === 0) return;
    this.recountScheduled = true;
    setTimeout(() => void this.recount(), RECOUNT_DELAY_MS).unref();
  }

  joinTopic(userId: string, topic: string): Promise<void> {
    return this.topicChange({ userId, topic, join: true });
  }

  leaveTopic(userId: string, topic: string): Promise<void> {
    return this.topicChange({ userId, topic, join: false });
  }

  /**
   * Resolves once every instance has moved the user's sockets, so a publish from any
   * instance right after `subscribe()` returns reaches them (Socket.IO's own socketsJoin
   * does not wait for the other instances).
   */
  private async topicChange(change: TopicChange): Promise<void> {
    const nsp = this.nsp;
    if (!nsp) return;
    this.topicHere(change);
    // While Redis is away the others re-sync their rooms from the database when it returns.
    if (!this.fanout.up) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        nsp.serverSideEmitWithAck(TOPIC_EVENT, change),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${TOPIC_ACK_MS} ms`)), TOPIC_ACK_MS);
        }),
      ]);
    } catch (err) {
      this.logger.warn(`topic rooms not confirmed by every instance: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }

  private topicHere({ userId, topic, join }: TopicChange): void {
    const sockets = this.nsp?.local.in(userRoom(userId));
    if (join) sockets?.socketsJoin(topicRoom(topic));
    else sockets?.socketsLeave(topicRoom(topic));
  }

  async isOnline(userId: string): Promise<boolean> {
    const nsp = this.cluster('isOnline');
    if (nsp.adapter.rooms.has(userRoom(userId))) return true;
    if (!this.fanout.enabled) return false;
    try {
      return (await nsp.in(userRoom(userId)).fetchSockets()).length > 0;
    } catch (err) {
      throw new NotificationsError('UNAVAILABLE', `isOnline: the other instances cannot be asked (${(err as Error).message})`);
    }
  }

  /** Closes the user's sockets here at once, elsewhere through Redis (later, if it is away). */
  disconnectUser(userId: string): void {
    this.cluster('disconnectUser').in(userRoom(userId)).disconnectSockets(true);
    if (!this.fanout.enabled || this.fanout.up) return;
    if (this.deferredDisconnects.size >= MAX_DEFERRED_DISCONNECTS) {
      const [[oldest]] = this.deferredDisconnects;
      this.deferredDisconnects.delete(oldest);
      this.logger.warn(`more than ${MAX_DEFERRED_DISCONNECTS} disconnects waiting for Redis: the oldest is dropped`);
    }
    this.deferredDisconnects.delete(userId); // re-inserted last: the Map's order is the eviction order
    this.deferredDisconnects.set(userId, Date.now());
  }

  /**
   * Sends the disconnects Redis could not carry; again each time another instance reports it
   * is back, since an instance that reconnects after this one missed the first time.
   */
  replayDisconnects(): void {
    for (const [userId, before] of this.deferredDisconnects) {
      this.nsp?.serverSideEmit(DISCONNECT_EVENT, { userId, before });
    }
  }

  /** Only sockets opened before the logout: the user may have logged in again since. */
  private disconnectHere(userId: string, before: number): void {
    const nsp = this.nsp;
    for (const id of nsp?.adapter.rooms.get(userRoom(userId)) ?? []) {
      const socket = nsp?.sockets.get(id);
      if (socket && socket.handshake.issued < before) socket.disconnect(true);
    }
  }

  /** The namespace, which a producer-only process has only with Redis. */
  private cluster(what: string): Namespace {
    if (!this.nsp) {
      throw new NotificationsError(
        'UNAVAILABLE',
        `${what} needs the gateway's sockets: a producer-only process (gateway: false) reaches them only with the \`redis\` option`,
      );
    }
    return this.nsp;
  }

  /** This instance's share of a change, and every other instance's through Redis. */
  private refresh(audience: Audience): void {
    if (!this.nsp) return;
    this.staleHere(audience);
    if (this.fanout.enabled) this.nsp.serverSideEmit(STALE_EVENT, audience);
  }

  private staleHere({ users, topics, all }: Audience): void {
    const nsp = this.nsp;
    if (!nsp) return;
    if (all) return this.recountHere(this.localUsers());
    const here = users.filter((u) => nsp.adapter.rooms.has(userRoom(u)));
    for (const topic of topics) here.push(...this.localUsers(topic));
    this.recountHere(here);
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
          this.nsp?.local.to(userRoom(userId)).emit(ServerEvent.Unread, { count });
        }
      }
    } catch (err) {
      this.logger.warn(`unread counts not refreshed: ${(err as Error).message}`);
    } finally {
      this.recountScheduled = false;
      if (this.stale.size > 0) this.recountHere([]);
    }
  }
}
