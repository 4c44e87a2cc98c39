import { DynamicModule, Inject, Logger, Module, OnModuleInit } from '@nestjs/common';
import { InjectNotificationsOptions } from './notifications.decorators';
import { NOTIFICATIONS_GATEWAY } from './notifications.internal-constants';
import { NotificationsConfigurableModule, OPTIONS_TYPE } from './notifications.module-definition';
import type { ResolvedNotificationsOptions } from './notifications.options';
import { resolveOptions } from './notifications.options.schema';

/**
 * Real-time, persisted notifications.
 *
 * ```ts
 * NotificationsModule.forRootAsync({
 *   inject: [ConfigService],
 *   useFactory: (config) => ({ session, allowedOrigins: [config.get('APP_ORIGIN')] }),
 * })
 * ```
 */
@Module({})
export class NotificationsModule extends NotificationsConfigurableModule implements OnModuleInit {
  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    @Inject(NOTIFICATIONS_GATEWAY) private readonly gateway: boolean,
  ) {
    super();
  }

  /** Static options are checked here, so a mistake fails where the module is declared. */
  static forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    const { isGlobal: _global, dataSource: _dataSource, gateway = true, ...moduleOptions } = options;
    resolveOptions(moduleOptions, { gateway });
    return super.forRoot(options);
  }

  /** One line at boot, so what a deployment actually runs is in its log (an async factory's options are known only now). */
  onModuleInit(): void {
    new Logger('NotificationsModule').log(bootLine(this.options, this.gateway));
  }
}

/** What this registration serves: never a secret or a URL (a Redis URL may hold a password). */
export function bootLine(options: ResolvedNotificationsOptions, gateway: boolean): string {
  const { namespace, allowedOrigins, redis, http, amqp } = options;
  const serving = gateway ? `gateway on namespace ${namespace} for origins ${allowedOrigins.join(', ')}` : 'no gateway (producer-only)';
  const cluster = redis ? `Redis on (${redis.adapter} adapter)` : 'Redis off (one instance)';
  // SQL producers' rows reach sockets through the gateway's LISTEN; a producer-only process does not listen.
  const doors = [...(gateway ? ['sql'] : []), ...(http ? [`http POST ${http.path}`] : []), ...(amqp ? [`amqp queue '${amqp.queue}'`] : [])];
  return `${serving}; ${cluster}; producer doors: ${doors.length ? doors.join(', ') : 'none'}`;
}
