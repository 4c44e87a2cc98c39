import { Injectable } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { EntityManager } from 'typeorm';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError, NotificationsError } from '../notifications.errors';
import { doorOf } from '../observability/door';
import { EngagementEvents, type EngagementEvent } from '../observability/engagement-events';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { inboxKey } from '../persistence/inbox-model';
import { toPayload } from '../persistence/notification-row';
import { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ChannelSendRepository, type ChannelLogEntry } from '../persistence/repositories/channel-send.repository';
import { NotificationRepository } from '../persistence/repositories/notification.repository';
import { PreferencesRepository } from '../persistence/repositories/preferences.repository';
import { SubscriptionRepository } from '../persistence/repositories/subscription.repository';
import { PushSubscriptionRepository } from '../persistence/repositories/push-subscription.repository';
import {
  CHANNELS,
  ClientEvent,
  MAX_PUSH_SUBSCRIPTIONS,
  type PushSubscriptionJson,
  type Filter,
  type ListPage,
  type ListQuery,
  type Preferences,
  type PreferencesUpdate,
  type StateResult,
} from '../protocol';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { RoomEmitter } from '../realtime/room-emitter';
import { TopicRooms } from '../realtime/topic-rooms';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { UserSockets } from '../realtime/user-sockets';
import * as choices from '../validation/preferences.schemas';
import * as schema from '../validation/schemas';
import { parseListQuery, parseViews } from '../validation/views';
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
  type ScopeOption,
} from './notification-input';
import { StateChanges, type IdsOrFilter } from './state-changes';

// The facade's types, where its callers have always found them.
export type { NotificationInput, ScopeOption } from './notification-input';
export type { StoredNotification } from './after-commit-delivery';
export type { IdsOrFilter } from './state-changes';
export type { ChannelLogEntry } from '../persistence/repositories/channel-send.repository';

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
    private readonly channelSends: ChannelSendRepository,
    private readonly pushSubscriptions: PushSubscriptionRepository,
    private readonly actions: NotificationActions,
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
  async notify(to: string | string[], input: NotificationInput, opts?: NotifyOptions): Promise<StoredNotification[]> {
    const recipients = checkedRecipients(to, this.options.maxRecipients);
    const n = normaliseInput(input, this.options.maxPayloadBytes);
    return this.delivery.store(
      recipients.map((userId) => rowFor(n, userId, null)),
      opts?.manager,
      doorOf(opts),
    );
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
    const u = checkedUserId(userId);
    const inbox = checkedInbox(u, opts, 'subscribe');
    const t = checkedTopic(topic);
    const horizon = await this.notifications.horizon();
    await this.subscriptions.subscribe(inbox, t);
    // Live to the sockets of the inbox's scope (unscoped: of every scope), but where the topic is muted.
    await this.topicRooms.join(inbox, t, await this.subscriptions.scopesMuting(u, t));
    // A publication committed between the subscription and the sockets joining the room is
    // visible to the user but went to a room they were not in yet: send it to them now.
    const missed = await this.reads.topicCommittedSince(inbox, t, horizon);
    if (missed.length > 0) {
      this.emitter.deliverTo(inbox, missed);
      this.recounter.markStale([u]);
    }
  }

  /** Ends the subscription to `topic` in `opts.scope` (unscoped without it); the others stay. */
  async unsubscribe(userId: string, topic: string, opts?: ScopeOption): Promise<void> {
    const u = checkedUserId(userId);
    const inbox = checkedInbox(u, opts, 'unsubscribe');
    const t = checkedTopic(topic);
    await this.subscriptions.unsubscribe(inbox, t);
    await this.topicRooms.leave(inbox, t);
    this.recounter.markStale([u]);
  }

  /**
   * A page of `userId`'s notifications in `query.scope`'s inbox (the unscoped one without it),
   * newest first (the inbox unless `filter` says otherwise); pass `nextCursor` as `before` for
   * the next.
   */
  async list(userId: string, query: ListQuery & ScopeOption = {}): Promise<ListPage> {
    const u = checkedUserId(userId);
    const { scope, ...rest } = typeof query === 'object' && query !== null ? query : { scope: undefined };
    const inbox = checkedInbox(u, { scope }, 'list');
    const { view, limit } = parseListQuery(typeof query === 'object' && query !== null ? rest : query, this.options.listLimit);
    const rows = await this.reads.list(inbox, view, limit);
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
  async counts(userId: string, views: Record<string, Filter>, opts?: ScopeOption): Promise<Record<string, number>> {
    const inbox = checkedInbox(checkedUserId(userId), opts, 'counts');
    const named = parseViews(views, 'counts: views');
    const names = Object.keys(named);
    const counts = await this.reads.counts(
      inbox,
      names.map((name) => named[name]),
    );
    return Object.fromEntries(names.map((name, i) => [name, counts[i]]));
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
    return (await this.badgeOf(this.inbox(userId, opts, 'unreadCount'))).unread;
  }

  /** The unread count of the inbox and the unseen count (what a bell shows), of `opts.scope`'s inbox. */
  async badge(userId: string, opts?: ScopeOption): Promise<Badge> {
    return this.badgeOf(this.inbox(userId, opts, 'badge'));
  }

  /** The preferences of `opts.scope`'s inbox (each scope has its own, the unscoped inbox too). */
  async getPreferences(userId: string, opts?: ScopeOption): Promise<Preferences> {
    const inbox = this.inbox(userId, opts, 'getPreferences');
    const [muted, { channels, quietHours }] = await Promise.all([this.preferences.preferences(inbox), this.channelSends.settings(inbox)]);
    return { muted, channels, quietHours };
  }

  /**
   * Replaces the muted types and/or topics (a list left out stays as it was). Muted
   * notifications are stored and listed as usual, but not delivered live and not counted. A
   * type the host's `mutable` option refuses is FORBIDDEN. Of `opts.scope`'s inbox only: they
   * apply to everything it shows (the unscoped notifications too), and to no other inbox.
   */
  async setPreferences(userId: string, preferences: PreferencesUpdate, opts?: ScopeOption): Promise<Preferences> {
    const inbox = this.inbox(userId, opts, 'setPreferences');
    const u = inbox.userId;
    const { muted = {}, channels, quietHours } = schema.parse(choices.preferences, preferences, 'preferences');
    const refused = (muted.types ?? []).filter((type) => !this.options.mutable(type));
    if (refused.length > 0) {
      throw new NotificationsError('FORBIDDEN', `preferences: muted.types: ${refused.map((t) => `'${t}'`).join(', ')} may not be muted`);
    }
    for (const channel of CHANNELS) {
      const refusedOnChannel = (channels?.[channel]?.types ?? []).filter((type) => !this.options.mutable(type));
      if (refusedOnChannel.length > 0) {
        throw new NotificationsError(
          'FORBIDDEN',
          `preferences: channels.${channel}.types: ${refusedOnChannel.map((t) => `'${t}'`).join(', ')} may not be muted`,
        );
      }
    }
    const settings =
      channels === undefined && quietHours === undefined
        ? await this.channelSends.settings(inbox)
        : await this.channelSends.setSettings(
            inbox,
            channels &&
              Object.fromEntries(
                CHANNELS.flatMap((c) => {
                  const given = channels[c];
                  return given ? [[c, { muted: given.muted ?? false, types: [...new Set(given.types ?? [])] }]] : [];
                }),
              ),
            quietHours,
          );
    if (muted.types === undefined && muted.topics === undefined) {
      return { muted: await this.preferences.preferences(inbox), channels: settings.channels, quietHours: settings.quietHours };
    }
    const before = await this.preferences.preferences(inbox);
    const after = await this.preferences.setPreferences(inbox, {
      types: muted.types && [...new Set(muted.types)],
      topics: muted.topics && [...new Set(muted.topics)],
    });
    // The inbox's subscriptions (unscoped, and in its scope) whose topics its sockets get again.
    const rooms = (await this.subscriptions.roomsOfMany([inbox])).get(inboxKey(inbox));
    const diff = (a: string[], b: string[]) => a.filter((x) => !b.includes(x));
    const unmuted = diff(before.topics, after.topics);
    await this.topicRooms.mute(inbox, {
      types: { muted: diff(after.types, before.types), unmuted: diff(before.types, after.types) },
      topics: {
        muted: diff(after.topics, before.topics),
        unmuted: [
          ...unmuted.filter((t) => rooms?.topics.includes(t)).map((topic) => ({ topic, scope: null })),
          ...(inbox.scope === null
            ? []
            : unmuted.filter((t) => rooms?.scopedTopics.includes(t)).map((topic) => ({ topic, scope: inbox.scope }))),
        ],
      },
    });
    this.recounter.markStale([u]);
    return { muted: after, channels: settings.channels, quietHours: settings.quietHours };
  }

  /**
   * What became of `userId`'s sends on other channels (docs/channels.md), newest first: each
   * sent, skipped, deferred, failed, retried or cancelled one, with its notifications and why.
   * `scope` absent: every inbox's; `before`: an entry's `id`, for the next page.
   */
  async channelHistory(userId: string, query: { scope?: string | null; before?: string; limit?: number } = {}): Promise<ChannelLogEntry[]> {
    const u = checkedUserId(userId);
    const scope = query.scope === undefined ? undefined : checkedScope({ scope: query.scope }, 'channelHistory');
    const before = query.before === undefined ? null : schema.parse(schema.notificationId, query.before, 'channelHistory: before');
    const limit = query.limit ?? this.options.listLimit.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.options.listLimit.max) {
      throw new InvalidInputError(`channelHistory: limit: must be an integer from 1 to ${this.options.listLimit.max}`);
    }
    return this.channelSends.history(u, scope, before, limit);
  }

  /**
   * Stores a browser's Web Push subscription (`PushSubscription.toJSON()`) for `userId`, one per
   * endpoint (device), at most MAX_PUSH_SUBSCRIPTIONS; the socket's `push:subscribe`. A malformed
   * one, or an endpoint that is not https (but on localhost), is INVALID_INPUT naming the field.
   */
  async pushSubscribe(userId: string, subscription: PushSubscriptionJson): Promise<{ ok: true }> {
    const u = checkedUserId(userId);
    const sub = schema.parse(choices.pushSubscription, subscription, ClientEvent.PushSubscribe);
    const stored = await this.pushSubscriptions.subscribe(
      u,
      {
        endpoint: sub.endpoint,
        p256dh: sub.keys.p256dh,
        auth: sub.keys.auth,
        expiresAt: typeof sub.expirationTime === 'number' ? new Date(sub.expirationTime) : null,
      },
      MAX_PUSH_SUBSCRIPTIONS,
    );
    if (!stored) {
      throw new InvalidInputError(`${ClientEvent.PushSubscribe}: at most ${MAX_PUSH_SUBSCRIPTIONS} push subscriptions per user`);
    }
    return { ok: true };
  }

  /** Forgets a Web Push subscription of `userId` (the socket's `push:unsubscribe`). */
  async pushUnsubscribe(userId: string, endpoint: string): Promise<{ ok: true }> {
    const { endpoint: e } = schema.parse(choices.pushUnsubscribe, { endpoint }, ClientEvent.PushUnsubscribe);
    await this.pushSubscriptions.unsubscribe(checkedUserId(userId), e);
    return { ok: true };
  }

  /** The user id checked, then the scope option: the inbox a method works on. */
  private inbox(userId: string, opts: ScopeOption | undefined, verb: string) {
    return checkedInbox(checkedUserId(userId), opts, verb);
  }

  private async badgeOf(inbox: ReturnType<typeof checkedInbox>): Promise<Badge> {
    return (await this.reads.badges([inbox])).get(inboxKey(inbox))!;
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
