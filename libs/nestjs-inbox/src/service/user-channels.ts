import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError, NotificationsError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { ChannelSendRepository, type ChannelLogEntry } from '../persistence/repositories/channel-send.repository';
import { PushSubscriptionRepository } from '../persistence/repositories/push-subscription.repository';
import { ClientEvent, MAX_PUSH_SUBSCRIPTIONS } from '../protocol';
import * as choices from '../validation/preferences.schemas';
import * as schema from '../validation/schemas';
import { checkedScope, checkedUserId } from './notification-input';

/**
 * A user's side of the channels (docs/channels.md): the browsers that receive their Web Push,
 * and the record of what was sent, skipped or cancelled. `NotificationService` documents the API.
 */
@Injectable()
export class UserChannels {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly channelSends: ChannelSendRepository,
    private readonly pushSubscriptions: PushSubscriptionRepository,
  ) {}

  async history(userId: string, query: { scope?: string | null; before?: string; limit?: number }): Promise<ChannelLogEntry[]> {
    const u = checkedUserId(userId);
    const scope = query.scope === undefined ? undefined : checkedScope({ scope: query.scope }, 'channelHistory');
    const before = query.before === undefined ? null : schema.parse(schema.notificationId, query.before, 'channelHistory: before');
    const limit = query.limit ?? this.options.listLimit.default;
    if (!Number.isInteger(limit) || limit < 1 || limit > this.options.listLimit.max) {
      throw new InvalidInputError(`channelHistory: limit: must be an integer from 1 to ${this.options.listLimit.max}`);
    }
    return this.channelSends.history(u, scope, before, limit);
  }

  async pushSubscribe(userId: string, subscription: unknown): Promise<{ ok: true }> {
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

  /** `body`: the socket's `push:unsubscribe` payload, or `{ endpoint }` from the service; its fields checked by name. */
  async pushUnsubscribe(userId: string, body: unknown): Promise<{ ok: true }> {
    const { endpoint } = schema.parse(choices.pushUnsubscribe, body, ClientEvent.PushUnsubscribe);
    await this.pushSubscriptions.unsubscribe(checkedUserId(userId), endpoint);
    return { ok: true };
  }

  /** The socket's `push:key`: the VAPID public key a browser subscribes with. */
  pushKey(body: unknown): { publicKey: string } {
    schema.parse(schema.emptyPayload, body, ClientEvent.PushKey);
    const publicKey = this.options.channels?.webPush?.vapid.publicKey;
    if (!publicKey) throw new NotificationsError('UNAVAILABLE', 'Web Push is not configured on this server (channels.webPush)');
    return { publicKey };
  }
}
