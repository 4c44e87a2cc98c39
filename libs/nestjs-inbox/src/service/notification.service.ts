import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError } from '../notifications.errors';
import { doorOf } from '../observability/door';
import { EngagementEvents, type EngagementEvent } from '../observability/engagement-events';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import type { ChannelLogEntry } from '../persistence/repositories/channel-send.repository';
import { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import {
  type PushSubscriptionJson,
  type Filter,
  type ListPage,
  type ListQuery,
  type Preferences,
  type PreferencesUpdate,
  type StateResult,
} from '../protocol';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { UserSockets } from '../realtime/user-sockets';
import { AfterCommitDelivery, type StoredNotification } from './after-commit-delivery';
import { NotificationActions } from './notification-actions';
import {
  checkedInbox,
  checkedRecipients,
  checkedScope,
  checkedTopic,
  checkedUserId,
  normaliseInput,
  refuseGroup,
  rowFor,
  type NotificationInput,
  type NotifyOptions,
  type ScopeOption,
} from './notification-input';
import { InboxPages } from './inbox-pages';
import { InboxSettings } from './inbox-settings';
import { StateChanges, withoutIds, type IdsOrFilter } from './state-changes';
import { UserChannels } from './user-channels';

// The facade's types, where its callers have always found them.
export type { NotificationInput, NotifyOptions, ScopeOption } from './notification-input';
export type { StoredNotification } from './after-commit-delivery';
export type { IdsOrFilter } from './state-changes';
export type { ChannelLogEntry } from '../persistence/repositories/channel-send.repository';

/** `NotificationService.health()`: whether this instance reaches the others. */
export interface NotificationsHealth {
  redis: 'off' | 'up' | 'down';
}

/**
 * The host's API: every public method checks its input (an InvalidInputError naming the field,
 * nothing stored) and hands the work to a part: normalisation (notification-input.ts), storing
 * and delivering (AfterCommitDelivery), state changes (StateChanges), pages and counts
 * (InboxPages), subscriptions and preferences (InboxSettings), the repositories.
 */
@Injectable()
export class NotificationService {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly delivery: AfterCommitDelivery,
    private readonly stateChanges: StateChanges,
    private readonly reads: InboxReadRepository,
    private readonly userSockets: UserSockets,
    private readonly fanout: RedisFanout,
    private readonly engagement: EngagementEvents,
    private readonly actions: NotificationActions,
    private readonly settings: InboxSettings,
    private readonly pages: InboxPages,
    private readonly channels: UserChannels,
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
   * `userId` activated action `action` (its index) of notification `id`: an `action` event of
   * `events` with the action as stored. INVALID_INPUT if the inbox does not show it or it has no such action.
   */
  async action(userId: string, id: string, action: number, opts?: ScopeOption): Promise<{ ok: true }> {
    await this.actions.act(userId, id, action, opts, 'action');
    return { ok: true };
  }

  /**
   * Stores a notification for one user or many (one statement) and delivers it to their
   * sockets once stored. Returns what was stored: a recipient whose `dedupeKey` was already
   * used gets nothing new and is not in the result.
   */
  notify(to: string | string[], input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification[]> {
    // Not `async`: an async function returning the store's promise adds a promise and two
    // turns of the microtask queue per call (bench 2). Bad input still rejects, never throws.
    try {
      const recipients = checkedRecipients(to, this.options.maxRecipients);
      const n = normaliseInput(input, this.options.maxPayloadBytes);
      return this.delivery.store(
        recipients.map((userId) => rowFor(n, userId, null)),
        opts?.manager,
        doorOf(opts),
      );
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Stores one notification for every user (one row whatever their number) and sends it to all;
   * with a scope (`opts.scope` or `input.scope`, the same if both are given), to every user's
   * inbox of that scope only.
   */
  async broadcast(input: NotificationInput, opts?: NotifyOptions & ScopeOption): Promise<StoredNotification | null> {
    const scope = checkedScope(opts, 'broadcast');
    const n = normaliseInput(input, this.options.maxPayloadBytes);
    refuseGroup(n, 'broadcast');
    if (scope !== null && n.scope !== null && scope !== n.scope) {
      throw new InvalidInputError(`broadcast: scope: ${JSON.stringify(scope)} differs from notification.scope ${JSON.stringify(n.scope)}`);
    }
    const [stored] = await this.delivery.store([rowFor(n, null, null, scope ?? n.scope)], opts?.manager, doorOf(opts));
    return stored ?? null;
  }

  /**
   * Stores one notification for the users subscribed to `topic` and sends it to them: in
   * `input.scope`, to those subscribed in that scope; unscoped, to those subscribed unscoped.
   */
  async publish(topic: string, input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification | null> {
    const t = checkedTopic(topic, 'publish: topic');
    const n = normaliseInput(input, this.options.maxPayloadBytes);
    refuseGroup(n, 'publish');
    const [stored] = await this.delivery.store([rowFor(n, null, t)], opts?.manager, doorOf(opts));
    return stored ?? null;
  }

  /**
   * From now on `userId` receives what is published to `topic` (on every open tab at once): in
   * `opts.scope`, what is published there; unscoped, the unscoped publications, which every
   * scope's inbox shows.
   */
  async subscribe(userId: string, topic: string, opts?: ScopeOption): Promise<void> {
    return this.settings.subscribe(userId, topic, opts);
  }

  /** Ends the subscription to `topic` in `opts.scope` (unscoped without it); the others stay. */
  async unsubscribe(userId: string, topic: string, opts?: ScopeOption): Promise<void> {
    return this.settings.unsubscribe(userId, topic, opts);
  }

  /**
   * A page of `userId`'s notifications in `query.scope`'s inbox (the unscoped one without it),
   * newest first (the inbox unless `filter` says otherwise); pass `nextCursor` as `before` for
   * the next.
   */
  async list(userId: string, query: ListQuery & ScopeOption = {}): Promise<ListPage> {
    return this.pages.list(userId, query);
  }

  /**
   * How many notifications of each named view are unread (unseen, for `state: 'unseen'`;
   * archived and unread, for `state: 'archived'`), exactly; muted types and topics are not
   * counted. E.g. `counts(user, { all: {}, mentions: { type: 'mention' } })`.
   */
  async counts(userId: string, views: Record<string, Filter>, opts?: ScopeOption): Promise<Record<string, number>> {
    return this.pages.counts(userId, views, opts);
  }

  /**
   * Marks notifications seen (the inbox showed them): by ids, or every one a filter selects, in
   * `opts.scope`'s inbox (ids it does not show are ignored, like another user's).
   */
  async markSeen(userId: string, idsOrFilter: IdsOrFilter, opts?: ScopeOption): Promise<StateResult> {
    return this.stateChanges.change(this.inbox(userId, opts, 'markSeen'), 'seen', idsOrFilter).then(withoutIds);
  }

  /**
   * Marks notifications read (and so seen): by ids (others' ids are ignored), or every one a
   * filter selects; syncs every tab. `ids`: the ids that were unread (empty for a filter).
   */
  async markRead(userId: string, idsOrFilter: IdsOrFilter, opts?: ScopeOption): Promise<StateResult & { ids: string[] }> {
    return this.stateChanges.change(this.inbox(userId, opts, 'markRead'), 'read', idsOrFilter);
  }

  /**
   * Everything `opts.scope`'s inbox shows becomes read, archived ones included: the scope's and
   * the unscoped notifications (read in every scope then), never another scope's.
   * O(subscriptions), whatever their number.
   */
  async markAllRead(userId: string, opts?: ScopeOption): Promise<StateResult> {
    return this.stateChanges.change(this.inbox(userId, opts, 'markAllRead'), 'read', {}).then(withoutIds);
  }

  /** Moves notifications out of the inbox into the archived view. */
  async archive(userId: string, idsOrFilter: IdsOrFilter, opts?: ScopeOption): Promise<StateResult> {
    return this.stateChanges.change(this.inbox(userId, opts, 'archive'), 'archived', idsOrFilter).then(withoutIds);
  }

  /** Moves archived notifications back into the inbox. */
  async unarchive(userId: string, idsOrFilter: IdsOrFilter, opts?: ScopeOption): Promise<StateResult> {
    return this.stateChanges.change(this.inbox(userId, opts, 'unarchive'), 'unarchived', idsOrFilter).then(withoutIds);
  }

  /**
   * Deletes notifications for `userId` only (a broadcast or publication stays for everyone
   * else); final. Its state is `deleted` (see StateChanges for the one change's three names).
   */
  async remove(userId: string, idsOrFilter: IdsOrFilter, opts?: ScopeOption): Promise<StateResult> {
    return this.stateChanges.change(this.inbox(userId, opts, 'remove'), 'deleted', idsOrFilter).then(withoutIds);
  }

  /**
   * Hides notifications until `until`, when each comes back as a new one (a new id, unseen and
   * unread, delivered live): deleted for the user meanwhile (a broadcast or publication stays
   * for everyone else). Within `SNOOZE_POLL_MS` (1 s) of `until`, on any instance. `until` is
   * at least `minSnoozeMs` away; a snooze that would leave the user more than `maxSnoozed`
   * pending is refused and snoozes nothing.
   */
  async snooze(userId: string, ids: (string | number)[], until: Date, opts?: ScopeOption): Promise<StateResult> {
    return this.stateChanges.snooze(this.inbox(userId, opts, 'snooze'), ids, until);
  }

  async unreadCount(userId: string, opts?: ScopeOption): Promise<number> {
    return (await this.reads.badge(this.inbox(userId, opts, 'unreadCount'))).unread;
  }

  /** The unread count of the inbox and the unseen count (what a bell shows), of `opts.scope`'s inbox. */
  async badge(userId: string, opts?: ScopeOption): Promise<Badge> {
    return this.reads.badge(this.inbox(userId, opts, 'badge'));
  }

  /** The preferences of `opts.scope`'s inbox (each scope has its own, the unscoped inbox too). */
  async getPreferences(userId: string, opts?: ScopeOption): Promise<Preferences> {
    return this.settings.preferences(this.inbox(userId, opts, 'getPreferences'));
  }

  /**
   * Replaces the muted types and/or topics (a list left out stays as it was). Muted
   * notifications are stored and listed as usual, but not delivered live and not counted. A
   * type the host's `mutable` option refuses is FORBIDDEN. Of `opts.scope`'s inbox only: they
   * apply to everything it shows (the unscoped notifications too), and to no other inbox.
   * `channels` and `quietHours`: see docs/channels.md.
   */
  async setPreferences(userId: string, preferences: PreferencesUpdate, opts?: ScopeOption): Promise<Preferences> {
    return this.settings.setPreferences(this.inbox(userId, opts, 'setPreferences'), preferences);
  }

  /**
   * What became of `userId`'s sends on other channels (docs/channels.md), newest first: each
   * sent, skipped, deferred, failed, retried or cancelled one, with its notifications and why.
   * `scope` absent: every inbox's; `before`: an entry's `id`, for the next page.
   */
  async channelHistory(userId: string, query: { scope?: string | null; before?: string; limit?: number } = {}): Promise<ChannelLogEntry[]> {
    return this.channels.history(userId, query);
  }

  /**
   * Stores a browser's Web Push subscription (`PushSubscription.toJSON()`) for `userId`, one per
   * endpoint (device), at most MAX_PUSH_SUBSCRIPTIONS; the socket's `push:subscribe`. A malformed
   * one, or an endpoint that is not https (but on localhost), is INVALID_INPUT naming the field.
   */
  async pushSubscribe(userId: string, subscription: PushSubscriptionJson): Promise<{ ok: true }> {
    return this.channels.pushSubscribe(userId, subscription);
  }

  /** Forgets a Web Push subscription of `userId` (the socket's `push:unsubscribe`). */
  async pushUnsubscribe(userId: string, endpoint: string): Promise<{ ok: true }> {
    return this.channels.pushUnsubscribe(userId, { endpoint });
  }

  /** The user id checked, then the scope option: the inbox a method works on. */
  private inbox(userId: string, opts: ScopeOption | undefined, verb: string) {
    return checkedInbox(checkedUserId(userId), opts, verb);
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
