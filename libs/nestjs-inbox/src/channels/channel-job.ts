import type { ChannelItem } from '../notifications.feature-options';
import type { NotificationRow } from '../persistence/notification-row';
import type { PushSubscriptionRow } from '../persistence/repositories/push-subscription.repository';
import type { Channel } from '../protocol';

/** What the claim decided to hand to a sender, once its transaction has committed. */
export interface Job {
  channel: Channel;
  userId: string;
  scope: string;
  /** The e-mail address, for `email`. */
  to?: string;
  /** The user's devices, for `webPush`. */
  subscriptions?: PushSubscriptionRow[];
  items: ChannelItem[];
  attempt: number;
}

export function toItem(row: NotificationRow): ChannelItem {
  return {
    id: row.id,
    type: row.type,
    title: row.title,
    body: row.body,
    url: row.url,
    actions: row.actions ?? [],
    scope: row.scope || null,
    createdAt: row.created_at,
  };
}
