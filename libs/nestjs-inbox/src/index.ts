export { NotificationsModule } from './notifications.module';
export type { NotificationsModuleExtras } from './notifications.module-definition';
export { NotificationService } from './notification.service';
export type { NotificationInput, NotifyOptions, StoredNotification } from './notification.service';
export { NOTIFICATIONS_OPTIONS, DEFAULT_NAMESPACE, ServerEvent, ClientEvent } from './notifications.constants';
export { NotificationsConfigError } from './notifications.options';
export type {
  NotificationsModuleOptions,
  NotificationsRedisOptions,
  ResolvedNotificationsOptions,
} from './notifications.options';
export { NotificationsError, InvalidInputError } from './notifications.errors';
export { NOTIFICATIONS_MIGRATIONS } from './persistence/migrations';
export { CreateInboxTables1732406400000 } from './persistence/migrations/1732406400000-create-inbox-tables';
export { NotificationsGateway } from './delivery/notifications.gateway';
export type { SessionSource, SessionUser, Handshake } from './session/session-source';
export type { InboxSocketData } from './session/handshake-auth';
export * from './protocol';
