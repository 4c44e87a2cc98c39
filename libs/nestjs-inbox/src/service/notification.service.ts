import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError, NotificationsError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { toPayload } from '../persistence/notification-row';
import { INBOX, Mark, View } from '../persistence/inbox-model';
import { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { InboxStateRepository } from '../persistence/repositories/inbox-state.repository';
import { NotificationRepository } from '../persistence/repositories/notification.repository';
import { PreferencesRepository } from '../persistence/repositories/preferences.repository';
import { SnoozeRepository } from '../persistence/repositories/snooze.repository';
import { SubscriptionRepository } from '../persistence/repositories/subscription.repository';
import type {
  Filter,
  FilterState,
  ListPage,
  ListQuery,
  NotificationPayload,
  Preferences,
  PreferencesUpdate,
  StatePayload,
  StateResult,
} from '../protocol';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { RoomEmitter } from '../realtime/room-emitter';
import { TopicRooms } from '../realtime/topic-rooms';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { UserSockets } from '../realtime/user-sockets';
import { OneAtATime } from '../security/one-at-a-time';
import * as schema from '../validation/schemas';
import { parseListQuery, parseViews, toView } from '../validation/views';
import { AfterCommitDelivery, type StoredNotification } from './after-commit-delivery';
import { checkedRecipients, checkedTopic, checkedUserId, normaliseInput, type NotificationInput } from './notification-input';

// The facade's types, where its callers have always found them.
export type { NotificationInput } from './notification-input';
export type { StoredNotification } from './after-commit-delivery';

/** Notifications by id, or every one of the user's that a filter selects (`{}`: the inbox). */
export type Which = (string | number)[] | Filter;

/** Notifications one batch of a filtered state change reads and marks. */
const BULK_BATCH = 500;

/**
 * Changes by filter and snoozes of one user running or waiting at once on an instance (see
 * OneAtATime): one socket's event burst (eventRateLimit's default); more answer RATE_LIMITED.
 */
const MAX_QUEUED_CHANGES = 20;

/**
 * Per change: how errors name it (`verb`); the view a filtered change reads when the filter
 * names no state (`batch`: only what it can change); and, for the changes that apply to
 * everything by watermarks, the filters that mean everything (`whole.states`; seen and read also
 * cover archived ones, so the tabs are told `whole.filter`, and delete needs `state: 'all'`,
 * since the inbox alone leaves the archive) and the view whose count before the change is
 * reported as `changed` (the unread ones changed; for seen, the unseen ones).
 */
const CHANGES: Record<Mark, { verb: string; batch: View['state']; whole?: { states: (FilterState | undefined)[]; filter: Filter; counted: View } }> = {
  seen: { verb: 'markSeen', batch: 'unseen', whole: { states: [undefined, 'all', 'unseen'], filter: { state: 'all' }, counted: { state: 'unseen' } } },
  read: { verb: 'markRead', batch: 'unread', whole: { states: [undefined, 'all', 'unread'], filter: { state: 'all' }, counted: { state: 'all' } } },
  archived: { verb: 'archive', batch: 'inbox', whole: { states: [undefined, 'all'], filter: {}, counted: INBOX } },
  unarchived: { verb: 'unarchive', batch: 'archived' },
  deleted: { verb: 'remove', batch: 'inbox', whole: { states: ['all'], filter: { state: 'all' }, counted: { state: 'all' } } },
};

export interface NotifyOptions {
  /** Store inside this transaction: delivered once it commits, never if it rolls back. */
  manager?: EntityManager;
}

export interface NotificationsHealth {
  redis: 'off' | 'up' | 'down';
}

@Injectable()
export class NotificationService {
  /** A user's changes by filter and snoozes, one at a time (see `change`). */
  private readonly oneAtATime = new OneAtATime(MAX_QUEUED_CHANGES);
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly delivery: AfterCommitDelivery,
    private readonly notifications: NotificationRepository,
    private readonly reads: InboxReadRepository,
    private readonly states: InboxStateRepository,
    private readonly subscriptions: SubscriptionRepository,
    private readonly preferences: PreferencesRepository,
    private readonly snoozes: SnoozeRepository,
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
    const recipients = checkedRecipients(to, this.options.maxRecipients);
    const n = normaliseInput(input, this.options.maxPayloadBytes);
    return this.delivery.store(recipients.map((userId) => ({ ...n, userId, topic: null })), opts?.manager);
  }

  /** Stores one notification for every user (one row whatever their number) and sends it to all. */
  async broadcast(input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const [stored] = await this.delivery.store([{ ...normaliseInput(input, this.options.maxPayloadBytes), userId: null, topic: null }], opts?.manager);
    return stored ?? null;
  }

  /** Stores one notification for the users subscribed to `topic` and sends it to them. */
  async publish(topic: string, input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const t = checkedTopic(topic, 'publish: topic');
    const [stored] = await this.delivery.store([{ ...normaliseInput(input, this.options.maxPayloadBytes), userId: null, topic: t }], opts?.manager);
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
    const counts = await this.reads.counts(u, names.map((name) => named[name]));
    return Object.fromEntries(names.map((name, i) => [name, counts[i]]));
  }

  /** Marks notifications seen (the inbox showed them): by ids, or every one a filter selects. */
  markSeen(userId: string, which: Which): Promise<StateResult> {
    return this.change(userId, 'seen', which).then(withoutIds);
  }

  /**
   * Marks notifications read (and so seen): by ids (others' ids are ignored), or every one a
   * filter selects; syncs every tab. `ids`: the ids that were unread (empty for a filter).
   */
  markRead(userId: string, which: Which): Promise<StateResult & { ids: string[] }> {
    return this.change(userId, 'read', which);
  }

  /** Everything `userId` may see becomes read, archived ones included: O(subscriptions), whatever their number. */
  markAllRead(userId: string): Promise<StateResult> {
    return this.change(userId, 'read', {}).then(withoutIds);
  }

  /** Moves notifications out of the inbox into the archived view. */
  archive(userId: string, which: Which): Promise<StateResult> {
    return this.change(userId, 'archived', which).then(withoutIds);
  }

  /** Moves archived notifications back into the inbox. */
  unarchive(userId: string, which: Which): Promise<StateResult> {
    return this.change(userId, 'unarchived', which).then(withoutIds);
  }

  /** Deletes notifications for `userId` only (a broadcast or publication stays for everyone else); final. */
  remove(userId: string, which: Which): Promise<StateResult> {
    return this.change(userId, 'deleted', which).then(withoutIds);
  }

  /**
   * Hides notifications until `until`, when each comes back as a new one (a new id, unseen and
   * unread, delivered live): deleted for the user meanwhile (a broadcast or publication stays
   * for everyone else). Within `SNOOZE_POLL_MS` (1 s) of `until`, on any instance. `until` is
   * at least `minSnoozeMs` away; a snooze that would leave the user more than `maxSnoozed`
   * pending is refused and snoozes nothing.
   */
  async snooze(userId: string, ids: (string | number)[], until: Date): Promise<StateResult> {
    const u = checkedUserId(userId);
    const wanted = schema.parse(schema.idList, ids, 'snooze: ids');
    const when = schema.parse(schema.snoozeUntil, until, 'snooze: until');
    const { minSnoozeMs, maxSnoozed } = this.options;
    const away = when.getTime() - Date.now();
    if (away < minSnoozeMs) {
      throw new InvalidInputError(`snooze: until: must be at least ${minSnoozeMs} ms away (minSnoozeMs), got ${away} ms`);
    }
    return this.oneAtATime.run(u, 'snooze', async () => {
      const snoozed = await this.snoozes.snooze(u, wanted, when, (pending, adding) => {
        if (pending + adding > maxSnoozed) {
          throw new InvalidInputError(
            `snooze: ids: ${adding} more would make ${pending + adding} pending snoozes, at most ${maxSnoozed} per user (maxSnoozed)`,
          );
        }
      });
      return this.changed(u, snoozed.length, { ids: snoozed, change: 'snoozed' });
    });
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

  /**
   * One state change, by ids or by filter. Everything (no filter beyond a state the change
   * covers anyway) moves watermarks: O(subscriptions). Other filters are applied in batches of
   * BULK_BATCH notifications, each one page read and one statement: O(what the filter selects),
   * at most `maxBulkRows`. A user's changes by filter run one at a time (OneAtATime), so that
   * 20 events of one socket cost one change's connection and rows at a time, not 20; by ids
   * (one statement, at most 1000 ids) they do not wait.
   */
  private async change(userId: string, change: Mark, which: Which): Promise<StateResult & { ids: string[] }> {
    const u = checkedUserId(userId);
    const { verb, batch, whole } = CHANGES[change];
    if (Array.isArray(which)) {
      const ids = await this.states.mark(u, change, schema.parse(schema.idList, which, `${verb}: ids`));
      return { ...(await this.changed(u, ids.length, { ids, change })), ids };
    }
    const f = schema.parse(schema.filter, which, `${verb}: filter`);
    return this.oneAtATime.run(u, verb, async () => {
      let changed: number;
      let state: StatePayload;
      if (whole && change !== 'unarchived' && Object.keys(f).every((k) => k === 'state') && whole.states.includes(f.state)) {
        changed = await this.states.markAll(u, change, whole.counted);
        state = { filter: whole.filter, change };
      } else {
        changed = await this.changeInBatches(u, change, { ...toView(f), state: f.state ?? batch }, verb);
        state = { filter: f, change };
      }
      return { ...(await this.changed(u, changed, state)), ids: [] };
    });
  }

  /** After a change: the new badge, told to every tab with what changed (a change by ids that changed none is not told). */
  private async changed(userId: string, changed: number, state: StatePayload): Promise<StateResult> {
    const badge = await this.badge(userId);
    if (changed > 0 || !('ids' in state)) {
      this.emitter.state(userId, state, badge);
      this.recounter.markStale([userId]);
    }
    return { changed, ...badge };
  }

  /**
   * Refused, before anything is written, when the view holds more than `maxBulkRows` (counted
   * up to one more); else applied to the notifications counted: those up to the newest one
   * then (one that arrives meanwhile is newer, and stays as it is), and at most `maxBulkRows`
   * read, whatever enters the view below it meanwhile.
   */
  private async changeInBatches(userId: string, change: Mark, view: View, verb: string): Promise<number> {
    const max = this.options.maxBulkRows;
    const { count, newest } = await this.reads.countUpTo(userId, view, max + 1);
    if (count > max) {
      throw new InvalidInputError(
        `${verb}: filter: selects more than ${max} notifications, at most ${max} per change (maxBulkRows); narrow it (a type, a state, before/after)`,
      );
    }
    if (newest === null) return 0;
    let changed = 0;
    let left = max;
    let before = String(BigInt(newest) + 1n);
    for (;;) {
      const limit = Math.min(BULK_BATCH, left);
      const rows = await this.reads.list(userId, { ...view, before }, limit);
      if (rows.length > 0) changed += (await this.states.mark(userId, change, rows.map((r) => r.id))).length;
      left -= rows.length;
      if (rows.length < limit || left === 0) return changed;
      before = rows[rows.length - 1].id;
    }
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
