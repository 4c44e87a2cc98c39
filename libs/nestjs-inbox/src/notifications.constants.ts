/** Injection token of the resolved {@link NotificationsModuleOptions}. */
export const NOTIFICATIONS_OPTIONS = Symbol('NOTIFICATIONS_OPTIONS');

/** Default Socket.IO namespace of the notifications gateway. */
export const DEFAULT_NAMESPACE = '/notifications';

/** Events the server sends to the browser. */
export const ServerEvent = {
  Notification: 'notification',
  Synced: 'notifications:synced',
  Unread: 'notifications:unread',
  Read: 'notifications:read',
  Error: 'notifications:error',
} as const;

/** Events the browser sends to the server; each one is acknowledged. */
export const ClientEvent = {
  List: 'notifications:list',
  Read: 'notifications:read',
  ReadAll: 'notifications:read-all',
  Subscribe: 'topics:subscribe',
  Unsubscribe: 'topics:unsubscribe',
} as const;
