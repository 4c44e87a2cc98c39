import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { NewNotificationRow, NotificationRow, toPayload } from '../persistence/notification-row';
import { NotificationStore } from '../persistence/notification.store';
import { NotificationWriter } from '../persistence/notification.writer';
import { TransactionHooks } from '../persistence/transaction-hooks';
import type { ListPage, ListQuery, NotificationPayload } from '../protocol';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { RoomEmitter } from '../realtime/room-emitter';
import { TopicRooms } from '../realtime/topic-rooms';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { UserSockets } from '../realtime/user-sockets';
import * as schema from '../validation/schemas';

/** What a host sends. `type` is its own category: 'announcement', 'reminder', 'message', … */
export interface NotificationInput {
  type: string;
  title?: string | null;
  body?: string | null;
  /** Any JSON object the client needs (links, ids). */
  data?: object | null;
  /** A repeated key for the same user (or broadcast, or topic) stores and delivers nothing new. */
  dedupeKey?: string | null;
  /** After this the notification is neither listed, counted nor delivered. */
  expiresAt?: Date | null;
}

export interface NotifyOptions {
  /** Store inside this transaction: delivered once it commits, never if it rolls back. */
  manager?: EntityManager;
}

export interface NotificationsHealth {
  redis: 'off' | 'up' | 'down';
}

/** A stored notification, with its recipient (`null` for a broadcast or a topic). */
export interface StoredNotification extends NotificationPayload {
  userId: string | null;
}

@Injectable()
export class NotificationService {
  private readonly logger = new Logger('NotificationsModule');
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly store: NotificationStore,
    private readonly writer: NotificationWriter,
    private readonly hooks: TransactionHooks,
    private readonly emitter: RoomEmitter,
    private readonly recounter: UnreadRecounter,
    private readonly topicRooms: TopicRooms,
    private readonly userSockets: UserSockets,
    private readonly fanout: RedisFanout,
  ) {}

  /**
   * Stores a notification for one user or many (one statement) and delivers it to their
   * sockets once stored. Returns what was stored: a recipient whose `dedupeKey` was already
   * used gets nothing new and is not in the result.
   */
  async notify(to: string | string[], input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification[]> {
    const recipients = this.recipients(to);
    const n = this.input(input);
    return this.persist(recipients.map((userId) => ({ ...n, userId, topic: null })), opts);
  }

  /** Stores one notification for every user (one row whatever their number) and sends it to all. */
  async broadcast(input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const [stored] = await this.persist([{ ...this.input(input), userId: null, topic: null }], opts);
    return stored ?? null;
  }

  /** Stores one notification for the users subscribed to `topic` and sends it to them. */
  async publish(topic: string, input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const t = schema.parse(schema.topic, topic, 'publish: topic');
    const [stored] = await this.persist([{ ...this.input(input), userId: null, topic: t }], opts);
    return stored ?? null;
  }

  /** From now on `userId` receives what is published to `topic` (on every open tab at once). */
  async subscribe(userId: string, topic: string): Promise<void> {
    const [u, t] = [this.user(userId), schema.parse(schema.topic, topic, 'topic')];
    const horizon = await this.store.horizon();
    await this.store.subscribe(u, t);
    await this.topicRooms.join(u, t);
    // A publication committed between the subscription and the sockets joining the room is
    // visible to the user but went to a room they were not in yet: send it to them now.
    const missed = await this.store.topicCommittedSince(u, t, horizon);
    if (missed.length > 0) {
      this.emitter.deliverTo(u, missed);
      this.recounter.markStale([u]);
    }
  }

  async unsubscribe(userId: string, topic: string): Promise<void> {
    const [u, t] = [this.user(userId), schema.parse(schema.topic, topic, 'topic')];
    await this.store.unsubscribe(u, t);
    await this.topicRooms.leave(u, t);
    this.recounter.markStale([u]);
  }

  /** A page of `userId`'s notifications, newest first; pass `nextCursor` as `before` for the next. */
  async list(userId: string, query: ListQuery = {}): Promise<ListPage> {
    const u = this.user(userId);
    const q = schema.parse(schema.listQuery, query, 'list query');
    const { max, default: byDefault } = this.options.listLimit;
    if (q.limit !== undefined && q.limit > max) {
      throw new InvalidInputError(`list query: limit: at most ${max}, got ${q.limit}`);
    }
    const limit = q.limit ?? byDefault;
    const rows = await this.store.list(u, { ...q, limit });
    return {
      items: rows.map(toPayload),
      nextCursor: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  /** Marks notifications of `userId` as read (ids of others are ignored); syncs their tabs. */
  async markRead(userId: string, ids: (string | number)[]): Promise<{ ids: string[]; unread: number }> {
    const u = this.user(userId);
    const wanted = schema.parse(schema.idList, ids, 'markRead: ids');
    const read = await this.store.markRead(u, wanted);
    const unread = await this.unreadCount(u);
    if (read.length > 0) this.emitter.read(u, { ids: read }, unread);
    return { ids: read, unread };
  }

  async markAllRead(userId: string): Promise<{ unread: number }> {
    const u = this.user(userId);
    const changed = await this.store.markAllRead(u);
    const unread = await this.unreadCount(u);
    if (changed > 0) this.emitter.read(u, { all: true }, unread);
    return { unread };
  }

  async unreadCount(userId: string): Promise<number> {
    const u = this.user(userId);
    return (await this.store.unreadCounts([u])).get(u) ?? 0;
  }

  /** Whether `userId` has a socket open on any instance. */
  async isOnline(userId: string): Promise<boolean> {
    return this.userSockets.isOnline(this.user(userId));
  }

  /** Closes every socket of `userId` on every instance, e.g. on logout. */
  async disconnectUser(userId: string): Promise<void> {
    this.userSockets.disconnect(this.user(userId));
  }

  /**
   * For a readiness probe: whether this instance reaches the other instances right now. `'off'`
   * without the `redis` option; `'down'` while Redis is unreachable (local delivery goes on,
   * the others catch up when it returns).
   */
  health(): NotificationsHealth {
    return { redis: !this.fanout.enabled ? 'off' : this.fanout.up ? 'up' : 'down' };
  }

  private async persist(rows: NewNotificationRow[], opts: NotifyOptions = {}): Promise<StoredNotification[]> {
    const { manager } = opts;
    const stored = (manager ? await this.store.insert(rows, manager) : await this.writer.write(rows)).filter(
      (row): row is NotificationRow => row !== null,
    );
    if (stored.length > 0) {
      const deliver = (rows: NotificationRow[]) => this.recounter.refresh(this.emitter.deliver(rows));
      if (manager) this.hooks.afterCommit(manager, () => void this.deliverCommitted(stored, deliver));
      else deliver(stored);
    }
    return stored.map((row) => ({ ...toPayload(row), userId: row.user_id }));
  }

  /**
   * After the caller's COMMIT, delivers the rows that really are stored. Postgres answers COMMIT
   * in a transaction that had failed (a statement error the caller caught without a savepoint)
   * by rolling back, without an error, and TypeORM still reports a commit: one primary-key
   * lookup keeps "nothing is delivered that is not committed" true in that case too.
   */
  private async deliverCommitted(rows: NotificationRow[], deliver: (rows: NotificationRow[]) => void): Promise<void> {
    try {
      const stored = await this.store.existing(rows.map((r) => r.id));
      const committed = rows.filter((r) => stored.has(r.id));
      if (committed.length > 0) deliver(committed);
    } catch (err) {
      // The rows are stored: the users get them on their next connection (catch-up) or list.
      this.logger.warn(`delivery after commit not checked, so not sent live: ${(err as Error).message}`);
    }
  }

  private recipients(to: string | string[]): string[] {
    const list = typeof to === 'string' ? [to] : to;
    if (!Array.isArray(list) || list.length === 0) {
      throw new InvalidInputError('notify: no recipients: pass a user id or a non-empty array of user ids');
    }
    if (list.length > this.options.maxRecipients) {
      throw new InvalidInputError(`notify: ${list.length} recipients, at most ${this.options.maxRecipients} per call`);
    }
    return [...new Set(schema.parse(schema.userIds, list, 'notify: recipients'))];
  }

  private user(userId: string): string {
    return schema.parse(schema.userId, userId, 'userId');
  }

  private input(input: NotificationInput): Omit<NewNotificationRow, 'userId' | 'topic'> {
    const n = schema.parse(schema.notificationInput, input, 'notification');
    let json: string;
    try {
      json = JSON.stringify([n.title ?? null, n.body ?? null, n.data ?? null]);
    } catch (err) {
      throw new InvalidInputError(`notification: data: must be serialisable as JSON (${(err as Error).message})`);
    }
    // JSON escapes NUL as \u0000 (an odd run of backslashes), which Postgres' jsonb refuses.
    if (/(?<!\\)(?:\\\\)*\\u0000/.test(json)) throw new InvalidInputError('notification: data: must not contain NUL characters');
    const size = Buffer.byteLength(json);
    if (size > this.options.maxPayloadBytes) {
      throw new InvalidInputError(
        `notification: title, body and data take ${size} bytes, at most ${this.options.maxPayloadBytes} (maxPayloadBytes)`,
      );
    }
    return {
      type: n.type,
      title: n.title ?? null,
      body: n.body ?? null,
      data: n.data ?? null,
      dedupeKey: n.dedupeKey ?? null,
      expiresAt: n.expiresAt ?? null,
    };
  }
}
