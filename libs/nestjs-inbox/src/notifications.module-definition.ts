import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import { ChannelEngine } from './channels/channel-engine';
import { ChannelPlanner } from './channels/channel-planner';
import { ChannelSendRepository } from './persistence/repositories/channel-send.repository';
import { PushSubscriptionRepository } from './persistence/repositories/push-subscription.repository';
import { getDataSourceToken } from '@nestjs/typeorm';
import { checkPeerVersions } from './compat/peer-versions';
import { gatewayClassFor } from './compat/nest-websockets.compat';
import type { DataSource } from 'typeorm';
import { assertPostgresDataSource, logQueryValues } from './compat/typeorm.compat';
import { NotificationsGateway } from './gateway/notifications.gateway';
import { NOTIFICATIONS_OPTIONS } from './notifications.constants';
import { INBOX_DATA_SOURCE, NOTIFICATIONS_GATEWAY } from './notifications.internal-constants';
import type { NotificationsModuleOptions, ResolvedNotificationsOptions } from './notifications.options';
import { resolveOptions } from './notifications.options.schema';
import { DeliveredEvents } from './observability/delivered-events';
import { DeliveryRecord } from './observability/delivery-record';
import { EngagementEvents } from './observability/engagement-events';
import { EventEmitterBridge } from './observability/event-emitter-bridge';
import { InboxTelemetry } from './observability/inbox-telemetry';
import { NotificationsHealthIndicator } from './observability/notifications-health.indicator';
import { NotificationWriter } from './persistence/notification.writer';
import { InboxReadRepository } from './persistence/repositories/inbox-read.repository';
import { InboxStateRepository } from './persistence/repositories/inbox-state.repository';
import { NotificationRepository } from './persistence/repositories/notification.repository';
import { PreferencesRepository } from './persistence/repositories/preferences.repository';
import { DeliveryRepository } from './persistence/repositories/delivery.repository';
import { RetentionRepository } from './persistence/repositories/retention.repository';
import { SnoozeRepository } from './persistence/repositories/snooze.repository';
import { SqlFeedRepository } from './persistence/repositories/sql-feed.repository';
import { SubscriptionRepository } from './persistence/repositories/subscription.repository';
import { Retention } from './persistence/retention';
import { StatementRunner } from './persistence/statement-runner';
import { SnoozeWaker } from './service/snooze-waker';
import { TransactionHooks } from './persistence/transaction-hooks';
import { AmqpConsumer } from './producers/amqp-consumer';
import { HttpProducer } from './producers/http-producer';
import { ClusterEvents } from './realtime/cluster/cluster-events';
import { DeferredDisconnects } from './realtime/cluster/deferred-disconnects';
import { DeliveredLog } from './realtime/cluster/delivered-log';
import { OutageRecovery } from './realtime/cluster/outage-recovery';
import { RedisFanout } from './realtime/cluster/redis-fanout';
import { InboxNamespace } from './realtime/inbox-namespace';
import { InlineBadges } from './realtime/inline-badges';
import { RoomEmitter } from './realtime/room-emitter';
import { ShownCounts } from './realtime/shown-counts';
import { ViewCounts } from './realtime/view-counts';
import { SqlProducerListener } from './realtime/sql-producer-listener';
import { TopicRooms } from './realtime/topic-rooms';
import { UnreadRecounter } from './realtime/unread-recounter';
import { UserSockets } from './realtime/user-sockets';
import { AfterCommitDelivery } from './service/after-commit-delivery';
import { CatchUpService } from './service/catch-up.service';
import { InboxPages } from './service/inbox-pages';
import { InboxSettings } from './service/inbox-settings';
import { NotificationActions } from './service/notification-actions';
import { NotificationService } from './service/notification.service';
import { StateChanges } from './service/state-changes';
import { UserChannels } from './service/user-channels';

/** Options known synchronously, when the module is declared (they decide its providers). */
export interface NotificationsModuleExtras {
  /** Make `NotificationService` injectable everywhere. Default `true`. */
  isGlobal?: boolean;
  /** Name of the host's TypeORM DataSource to store in. Default: the default DataSource. */
  dataSource?: string;
  /**
   * Run the Socket.IO gateway. `false` for producer-only processes (workers, cron) that
   * store and publish but serve no browser. Default `true`.
   */
  gateway?: boolean;
}

export const {
  ConfigurableModuleClass: NotificationsConfigurableModule,
  MODULE_OPTIONS_TOKEN: RAW_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<NotificationsModuleOptions>({ moduleName: 'Notifications' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createNotificationsOptions')
  .setExtras<NotificationsModuleExtras>({ isGlobal: true, gateway: true }, (definition, extras) => {
    // Runs where the host declares the module, before anything reaches into a dependency.
    checkPeerVersions();
    const gateway = extras.gateway ?? true;
    const providers: Provider[] = [
      {
        provide: INBOX_DATA_SOURCE,
        inject: [getDataSourceToken(extras.dataSource), NOTIFICATIONS_OPTIONS],
        useFactory: (dataSource: DataSource, options: ResolvedNotificationsOptions) => {
          logQueryValues(assertPostgresDataSource(dataSource), options.logQueryParameters);
          return dataSource;
        },
      },
      {
        provide: NOTIFICATIONS_OPTIONS,
        inject: [RAW_OPTIONS],
        useFactory: (options: NotificationsModuleOptions) => resolveOptions(options, { gateway }),
      },
      { provide: NOTIFICATIONS_GATEWAY, useValue: gateway },
      // persistence: the runner, a repository per concern, and the jobs over them
      StatementRunner,
      NotificationRepository,
      InboxReadRepository,
      InboxStateRepository,
      SubscriptionRepository,
      PreferencesRepository,
      SnoozeRepository,
      SqlFeedRepository,
      RetentionRepository,
      DeliveryRepository,
      NotificationWriter,
      Retention,
      SnoozeWaker,
      SqlProducerListener,
      ShownCounts,
      ViewCounts,
      TransactionHooks,
      // realtime: the namespace and what emits to it; cluster: what crosses instances
      InboxNamespace,
      InlineBadges,
      RoomEmitter,
      UnreadRecounter,
      TopicRooms,
      UserSockets,
      RedisFanout,
      ClusterEvents,
      DeferredDisconnects,
      DeliveredLog,
      OutageRecovery,
      // observability: metrics and spans (no-ops until the host registers an OpenTelemetry SDK)
      InboxTelemetry,
      NotificationsHealthIndicator,
      EngagementEvents,
      DeliveredEvents,
      DeliveryRecord,
      EventEmitterBridge,
      // service: the facade and its parts
      NotificationService,
      AfterCommitDelivery,
      StateChanges,
      NotificationActions,
      InboxSettings,
      InboxPages,
      UserChannels,
      // producers in other languages: each door opens only when its option (known once the
      // async options resolve) is set, so both are always declared
      HttpProducer,
      AmqpConsumer,
      // channels: sends planned after commit, claimed and sent by every instance (when configured)
      ChannelSendRepository,
      PushSubscriptionRepository,
      ChannelPlanner,
      ChannelEngine,
      ...(gateway ? [CatchUpService, { provide: NotificationsGateway, useClass: gatewayClassFor(NotificationsGateway) }] : []),
    ];
    return {
      ...definition,
      global: extras.isGlobal ?? true,
      providers: [...(definition.providers ?? []), ...providers],
      exports: [...(definition.exports ?? []), NotificationService, NotificationsHealthIndicator, NOTIFICATIONS_OPTIONS],
    };
  })
  .build();
