import type { Action, NotificationPayload } from '../protocol';
import type { NotificationGroup } from './notification-group';

/** A notification as the elements read it: the payload, and a group when the server grouped it. */
export type FeedNotification = NotificationPayload & { group?: NotificationGroup | null };

export interface InboxActionDetail {
  notification: FeedNotification;
  action: Action;
}

export interface InboxOpenDetail {
  notification: FeedNotification;
}

/** A custom item renderer: returns what goes in the item's content, in place of title, body and time. */
export type ItemRenderer = (notification: FeedNotification, context: { lang: string; time: string }) => Node | null;
