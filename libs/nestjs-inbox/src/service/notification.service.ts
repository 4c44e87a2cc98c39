import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { EntityManager } from 'typeorm';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { NotificationsError } from '../notifications.errors';
import { doorOf } from '../observability/door';
import { EngagementEvents, type EngagementEvent } from '../observability/engagement-events';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { toPayload } from '../persistence/notification-row';
import { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { NotificationRepository } from '../persistence/repositories/notification.repository';
import { PreferencesRepository } from '../persistence/repositories/preferences.repository';
import { SubscriptionRepository } from '../persistence/repositories/subscription.repository';
import type { Filter, ListPage, ListQuery, Preferences, PreferencesUpdate, StateResult } from '../protocol';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { RoomEmitter } from '../realtime/room-emitter';
import { TopicRooms } from '../realtime/topic-rooms';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { UserSockets } from '../realtime/user-sockets';
import * as schema from '../validation/schemas';
import { parseListQuery, parseViews } from '../validation/views';
import { AfterCommitDelivery, type StoredNotification } from './after-commit-delivery';
import { checkedRecipients, checkedTopic, checkedUserId, normaliseInput, type NotificationInput } from './notification-input';
import { StateChanges, type IdsOrFilter } from './state-changes';

// The facade's types, where its callers have always found them.
export type { NotificationInput } from './notification-input';
export type { StoredNotification } from './after-commit-delivery';
export type { IdsOrFilter } from './state-changes';

export interface NotifyOptions {
  /** Store inside this transaction: delivered once it commits, never if it rolls back. */
  manager?: EntityManager;
}

export interface NotificationsHealth {
  redis: 'off' | 'up' | 'down';
}

/**
 * The host's API: every public method checks its input (an InvalidInputError naming the field,
 * nothing stored) and hands the work to a part: normalisation (notification-input.ts), storing
 * and delivering (AfterCommitDelivery), state changes (StateChanges), the repositories.
 */
@Injectable()
export class NotificationService {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly delivery: AfterCommitDelivery,
    private readonly stateChanges: StateChanges,
    private readonly notifications: NotificationRepository,
    private readonly reads: InboxReadRepository,
    private readonly subscriptions: SubscriptionRepository,
    private readonly preferences: PreferencesRepository,
    private readonly emitter: RoomEmitter,
    private readonly recounter: UnreadRecounter,
    private readonly topicRooms: TopicRooms,
    private readonly userSockets: UserSockets,
    private readonly fanout: RedisFanout,
    private readonly engagement: EngagementEvents,
  ) {}

  /**
   * What users do to their notifications (`seen`, `read`, `archived`, `deleted`), on this
   * instance and, with Redis, on every other; `local` marks this instance's own. Hot: a
   * subscriber gets what happens from then on. See docs/observability.md.
   */
  get events(): Observable<EngagementEvent> {
    return this.engagement.events;
  }

  /**
   * Stores a notification for one user or many (one statement) and delivers it to their
   * sockets once stored. Returns what was stored: a recipient whose `dedupeKey` was already
   * used gets nothing new and is not in the result.
   */
  async notify(to: string | string[], input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification[]> {
    const recipients = checkedRecipients(to, this.options.maxRecipients);
    const n = normaliseInput(input, this.options.maxPayloadBytes);
    return this.delivery.store(
      recipients.map((userId) => ({ ...n, userId, topic: null })),
      opts?.manager,
      doorOf(opts),
    );
  }

  /** Stores one notification for every user (one row whatever their number) and sends it to all. */
  async broadcast(input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const [stored] = await this.delivery.store(
      [{ ...normaliseInput(input, this.options.maxPayloadBytes), userId: null, topic: null }],
      opts?.manager,
      doorOf(opts),
    );
    return stored ?? null;
  }

  /** Stores one notification for the users subscribed to `topic` and sends it to them. */
  async publish(topic: string, input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const t = checkedTopic(topic, 'publish: topic');
    const [stored] = await this.delivery.store(
      [{ ...normaliseInput(input, this.options.maxPayloadBytes), userId: null, topic: t }],
      opts?.manager,
      doorOf(opts),
    );
    return stored ?? null;
  }

  /** From now on `userId` receives what is published to `topic` (on every open tab at once). */
  async subscribe(userId: string, topic: string): Promise<void> {
    const [u, t] = [checkedUserId(userId), checkedTopic(topic)];
    const horizon = await this.notifications.horizon();
    await this.subscriptions.subscribe(u, t);
    await this.topicRooms.join(u, t);
    // A publication committed between the subscription and the sockets joining the room is
    // visible to the user but went to a room they were not in yet: send it to them now.
    const missed = await this.reads.topicCommittedSince(u, t, horizon);
    if (missed.length > 0) {
      this.emitter.deliverTo(u, missed);
      this.recounter.markStale([u]);
    }
  }

  async unsubscribe(userId: string, topic: string): Promise<void> {
    const [u, t] = [checkedUserId(userId), checkedTopic(topic)];
    await this.subscriptions.unsubscribe(u, t);
    await this.topicRooms.leave(u, t);
    this.recounter.markStale([u]);
  }

  /**
   * A page of `userId`'s notifications, newest first (the inbox unless `filter` says otherwise);
   * pass `nextCursor` as `before` for the next.
   */
  async list(userId: string, query: ListQuery = {}): Promise<ListPage> {
    const u = checkedUserId(userId);
    const { view, limit } = parseListQuery(query, this.options.listLimit);
    const rows = await this.reads.list(u, view, limit);
    return {
      items: rows.map(toPayload),
      nextCursor: rows.length === limit ? rows[rows.length - 1].id : null,
    };
  }

  /**
   * How many notifications of each named view are unread (unseen, for `state: 'unseen'`;
   * archived and unread, for `state: 'archived'`), exactly; muted types and topics are not
   * counted. E.g. `counts(user, { all: {}, mentions: { type: 'mention' } })`.
   */
  async counts(userId: string, views: Record<string, Filter>): Promise<Record<string, number>> {
    const u = checkedUserId(userId);
    const named = parseViews(views, 'counts: views');
    const names = Object.keys(named);
    const counts = await this.reads.counts(
      u,
      names.map((name) => named[name]),
    );
    return Object.fromEntries(names.map((name, i) => [name, counts[i]]));
  }

  /** Marks notifications seen (the inbox showed them): by ids, or every one a filter selects. */
  markSeen(userId: string, idsOrFilter: IdsOrFilter): Promise<StateResult> {
    return this.stateChanges.change(checkedUserId(userId), 'seen', idsOrFilter).then(withoutIds);
  }

  /**
   * Marks notifications read (and so seen): by ids (others' ids are ignored), or every one a
   * filter selects; syncs every tab. `ids`: the ids that were unread (empty for a filter).
   */
  markRead(userId: string, idsOrFilter: IdsOrFilter): Promise<StateResult & { ids: string[] }> {
    return this.stateChanges.change(checkedUserId(userId), 'read', idsOrFilter);
  }

  /** Everything `userId` may see becomes read, archived ones included: O(subscriptions), whatever their number. */
  markAllRead(userId: string): Promise<StateResult> {
    return this.stateChanges.change(checkedUserId(userId), 'read', {}).then(withoutIds);
  }

  /** Moves notifications out of the inbox into the archived view. */
  archive(userId: string, idsOrFilter: IdsOrFilter): Promise<StateResult> {
    return this.stateChanges.change(checkedUserId(userId), 'archived', idsOrFilter).then(withoutIds);
  }

  /** Moves archived notifications back into the inbox. */
  unarchive(userId: string, idsOrFilter: IdsOrFilter): Promise<StateResult> {
    return this.stateChanges.change(checkedUserId(userId), 'unarchived', idsOrFilter).then(withoutIds);
  }

  /**
   * Deletes notifications for `userId` only (a broadcast or publication stays for everyone
   * else); final. Its state is `deleted` (see StateChanges for the one change's three names).
   */
  remove(userId: string, idsOrFilter: IdsOrFilter): Promise<StateResult> {
    return this.stateChanges.change(checkedUserId(userId), 'deleted', idsOrFilter).then(withoutIds);
  }

  /**
   * Hides notifications until `until`, when each comes back as a new one (a new id, unseen and
   * unread, delivered live): deleted for the user meanwhile (a broadcast or publication stays
   * for everyone else). Within `SNOOZE_POLL_MS` (1 s) of `until`, on any instance. `until` is
   * at least `minSnoozeMs` away; a snooze that would leave the user more than `maxSnoozed`
   * pending is refused and snoozes nothing.
   */
  async snooze(userId: string, ids: (string | number)[], until: Date): Promise<StateResult> {
    return this.stateChanges.snooze(checkedUserId(userId), ids, until);
  }

  async unreadCount(userId: string): Promise<number> {
    return (await this.badge(userId)).unread;
  }

  /** The unread count of the inbox and the unseen count (what a bell shows). */
  async badge(userId: string): Promise<Badge> {
    const u = checkedUserId(userId);
    return (await this.reads.badges([u])).get(u)!;
  }

  async getPreferences(userId: string): Promise<Preferences> {
    return { muted: await this.preferences.preferences(checkedUserId(userId)) };
  }

  /**
   * Replaces the muted types and/or topics (a list left out stays as it was). Muted
   * notifications are stored and listed as usual, but not delivered live and not counted. A
   * type the host's `mutable` option refuses is FORBIDDEN.
   */
  async setPreferences(userId: string, preferences: PreferencesUpdate): Promise<Preferences> {
    const u = checkedUserId(userId);
    const { muted } = schema.parse(schema.preferences, preferences, 'preferences');
    const refused = (muted.types ?? []).filter((type) => !this.options.mutable(type));
    if (refused.length > 0) {
      throw new NotificationsError('FORBIDDEN', `preferences: muted.types: ${refused.map((t) => `'${t}'`).join(', ')} may not be muted`);
    }
    const before = await this.preferences.preferences(u);
    const after = await this.preferences.setPreferences(u, {
      types: muted.types && [...new Set(muted.types)],
      topics: muted.topics && [...new Set(muted.topics)],
    });
    const subscribed = new Set((await this.subscriptions.roomsOfMany([u])).get(u)?.topics ?? []);
    const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));
    await this.topicRooms.mute(u, {
      types: { muted: diff(after.types, before.types), unmuted: diff(before.types, after.types) },
      topics: { muted: diff(after.topics, before.topics), unmuted: diff(before.topics, after.topics).filter((t) => subscribed.has(t)) },
    });
    this.recounter.markStale([u]);
    return { muted: after };
  }

  /** Whether `userId` has a socket open on any instance. */
  async isOnline(userId: string): Promise<boolean> {
    return this.userSockets.isOnline(checkedUserId(userId));
  }

  /** Closes every socket of `userId` on every instance, e.g. on logout. */
  async disconnectUser(userId: string): Promise<void> {
    this.userSockets.disconnect(checkedUserId(userId));
  }

  /**
   * For a readiness probe: whether this instance reaches the other instances right now. `'off'`
   * without the `redis` option; `'down'` while Redis is unreachable (local delivery goes on,
   * the others catch up when it returns).
   */
  health(): NotificationsHealth {
    return { redis: !this.fanout.enabled ? 'off' : this.fanout.up ? 'up' : 'down' };
  }
}

function withoutIds({ ids: _ids, ...result }: StateResult & { ids: string[] }): StateResult {
  return result;
}
