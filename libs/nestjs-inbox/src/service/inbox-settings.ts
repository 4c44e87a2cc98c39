import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { NotificationsError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { inboxKey, type Inbox } from '../persistence/inbox-model';
import { ChannelSendRepository } from '../persistence/repositories/channel-send.repository';
import { InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { NotificationRepository } from '../persistence/repositories/notification.repository';
import { PreferencesRepository } from '../persistence/repositories/preferences.repository';
import { SubscriptionRepository } from '../persistence/repositories/subscription.repository';
import { CHANNELS, type Preferences, type PreferencesUpdate } from '../protocol';
import { RoomEmitter } from '../realtime/room-emitter';
import { TopicRooms } from '../realtime/topic-rooms';
import { UnreadRecounter } from '../realtime/unread-recounter';
import * as choices from '../validation/preferences.schemas';
import * as schema from '../validation/schemas';
import { checkedInbox, checkedTopic, checkedUserId, type ScopeOption } from './notification-input';

/**
 * What an inbox receives, and how: its topic subscriptions and its preferences (mutes, channel
 * settings, quiet hours). A change here moves the inbox's sockets between rooms at once, on
 * every instance, and marks its badge for a recount. `NotificationService` documents the API.
 */
@Injectable()
export class InboxSettings {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly notifications: NotificationRepository,
    private readonly reads: InboxReadRepository,
    private readonly subscriptions: SubscriptionRepository,
    private readonly preferencesRepository: PreferencesRepository,
    private readonly channelSends: ChannelSendRepository,
    private readonly emitter: RoomEmitter,
    private readonly recounter: UnreadRecounter,
    private readonly topicRooms: TopicRooms,
  ) {}

  /** Stores the subscription, joins the inbox's sockets to the topic's room, and sends what was published meanwhile. */
  async subscribe(userId: string, topic: string, opts?: ScopeOption): Promise<void> {
    const u = checkedUserId(userId);
    const inbox = checkedInbox(u, opts, 'subscribe');
    const t = checkedTopic(topic);
    const horizon = await this.notifications.horizon();
    const end = await this.subscriptions.subscribe(inbox, t);
    // Live to the sockets of the inbox's scope (unscoped: of every scope), but where the topic is muted.
    await this.topicRooms.join(inbox, t, await this.subscriptions.scopesMuting(u, t));
    // A publication committed between the subscription and the sockets joining the room is
    // visible to the user but went to a room they were not in yet: send it to them now. Those
    // after `end` only: a new subscription starts there; one made before had the sockets in the
    // room already, so what it committed before went live (the walk stays the new rows).
    const missed = await this.reads.topicCommittedSince(inbox, t, horizon, end);
    if (missed.length > 0) {
      this.emitter.deliverTo(inbox, missed);
      this.recounter.markStale([u]);
    }
  }

  async unsubscribe(userId: string, topic: string, opts?: ScopeOption): Promise<void> {
    const u = checkedUserId(userId);
    const inbox = checkedInbox(u, opts, 'unsubscribe');
    const t = checkedTopic(topic);
    await this.subscriptions.unsubscribe(inbox, t);
    await this.topicRooms.leave(inbox, t);
    this.recounter.markStale([u]);
  }

  async preferences(inbox: Inbox): Promise<Preferences> {
    const [muted, { channels, quietHours }] = await Promise.all([
      this.preferencesRepository.preferences(inbox),
      this.channelSends.settings(inbox),
    ]);
    return { muted, channels, quietHours };
  }

  /** The inbox's mutes, channel settings and quiet hours replaced where `preferences` names them. */
  async setPreferences(inbox: Inbox, preferences: PreferencesUpdate): Promise<Preferences> {
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
      return { muted: await this.preferencesRepository.preferences(inbox), channels: settings.channels, quietHours: settings.quietHours };
    }
    const before = await this.preferencesRepository.preferences(inbox);
    const after = await this.preferencesRepository.setPreferences(inbox, {
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
}
