export { NotificationsModule } from './notifications.module';
export type { NotificationsModuleExtras } from './notifications.module-definition';
export { NotificationService } from './service/notification.service';
export type {
  ChannelLogEntry,
  IdsOrFilter,
  NotificationInput,
  NotificationsHealth,
  NotifyOptions,
  ScopeOption,
  StoredNotification,
} from './service/notification.service';
export { NotificationsHealthIndicator } from './observability/notifications-health.indicator';
export type {
  NotificationsHealthDetail,
  NotificationsHealthOptions,
  NotificationsHealthResult,
} from './observability/notifications-health.indicator';
export { INSTRUMENTATION_SCOPE, Instrument, SpanName } from './observability/inbox-telemetry';
export type { EngagementAction, EngagementEvent, EngagementType } from './observability/engagement-events';
export { NOTIFICATIONS_OPTIONS } from './notifications.constants';
export { InjectNotificationsOptions } from './notifications.decorators';
export { NOTIFICATIONS_DEFAULTS } from './notifications.options';
export type {
  NotificationsModuleOptions,
  NotificationsRedisOptions,
  NotificationsRetentionOptions,
  NotificationsDeliveryRecordOptions,
  NotificationsHttpOptions,
  NotificationsAmqpOptions,
  ResolvedHttpOptions,
  ResolvedAmqpOptions,
  ResolvedNotificationsOptions,
  ResolvedRedisOptions,
  ResolvedRetentionOptions,
  ResolvedDeliveryRecordOptions,
  NotificationsChannelsOptions,
  ResolvedChannelsOptions,
  EmailChannelOptions,
  EmailRenderContext,
  RenderedEmail,
  ChannelItem,
  BroadcastAudience,
  BroadcastAudienceContext,
  ChannelName,
  ChannelUntil,
  MailTransporter,
} from './notifications.options';
export { NotificationsError, InvalidInputError, SessionRejectedError, NotificationsConfigError } from './notifications.errors';
export { NOTIFICATIONS_MIGRATIONS } from './persistence/migrations';
export { CreateInboxTables1732406400000 } from './persistence/migrations/1732406400000-create-inbox-tables';
export { InboxReadModel1764028800000 } from './persistence/migrations/1764028800000-inbox-read-model';
export { InboxSqlProducers1764115200000 } from './persistence/migrations/1764115200000-inbox-sql-producers';
export { InboxPresentation1764201600000 } from './persistence/migrations/1764201600000-inbox-presentation';
export { InboxStates1764288000000 } from './persistence/migrations/1764288000000-inbox-states';
export { NotificationsGateway } from './gateway/notifications.gateway';
export type { ProducerMessage } from './producers/producer-message';
export type { SessionSource, SessionUser, Handshake } from './notifications.options';
export type { InboxSocketData } from './session/handshake-auth';
export { expressSession } from './session/express-session.source';
export type { ExpressSessionSourceOptions, ExpressSessionStore } from './session/express-session.source';
export { cookieSession } from './session/cookie-session.source';
export type { CookieSessionSourceOptions } from './session/cookie-session.source';
export { httpSession } from './session/http-session.source';
export type { HttpSessionSourceOptions } from './session/http-session.source';
export type { UserIdLocator } from './session/user-id';
export { WsSessionGuard } from './session/ws-session.guard';
export { CurrentUser } from './session/current-user.decorator';
export * from './protocol';
