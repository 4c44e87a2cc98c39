import { ConfigurableModuleBuilder, Provider } from '@nestjs/common';
import { getDataSourceToken } from '@nestjs/typeorm';
import { checkPeerVersions } from './compat/peer-versions';
import { gatewayClassFor } from './compat/nest-websockets.compat';
import { assertPostgresDataSource } from './compat/typeorm.compat';
import { NotificationDispatcher } from './delivery/notification.dispatcher';
import { NotificationsGateway } from './delivery/notifications.gateway';
import { OutageRecovery } from './delivery/outage-recovery';
import { ProducerNamespace } from './delivery/producer-namespace';
import { RedisFanout } from './delivery/redis-fanout';
import { NotificationService } from './notification.service';
import { NOTIFICATIONS_OPTIONS } from './notifications.constants';
import { INBOX_DATA_SOURCE } from './notifications.internal-constants';
import { NotificationsModuleOptions, resolveOptions } from './notifications.options';
import { NotificationStore } from './persistence/notification.store';
import { NotificationWriter } from './persistence/notification.writer';
import { TransactionHooks } from './persistence/transaction-hooks';

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
        inject: [getDataSourceToken(extras.dataSource)],
        useFactory: assertPostgresDataSource,
      },
      {
        provide: NOTIFICATIONS_OPTIONS,
        inject: [RAW_OPTIONS],
        useFactory: (options: NotificationsModuleOptions) => resolveOptions(options, { gateway }),
      },
      NotificationStore,
      NotificationWriter,
      TransactionHooks,
      NotificationDispatcher,
      NotificationService,
      RedisFanout,
      OutageRecovery,
      gateway ? { provide: NotificationsGateway, useClass: gatewayClassFor(NotificationsGateway) } : ProducerNamespace,
    ];
    return {
      ...definition,
      global: extras.isGlobal ?? true,
      providers: [...(definition.providers ?? []), ...providers],
      exports: [...(definition.exports ?? []), NotificationService, NOTIFICATIONS_OPTIONS],
    };
  })
  .build();
