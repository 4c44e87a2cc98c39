import { DynamicModule, Module } from '@nestjs/common';
import { NotificationsConfigurableModule, OPTIONS_TYPE } from './notifications.module-definition';
import { resolveOptions } from './notifications.options';

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
export class NotificationsModule extends NotificationsConfigurableModule {
  /** Static options are checked here, so a mistake fails where the module is declared. */
  static forRoot(options: typeof OPTIONS_TYPE): DynamicModule {
    const { isGlobal: _global, dataSource: _dataSource, gateway = true, ...moduleOptions } = options;
    resolveOptions(moduleOptions, { gateway });
    return super.forRoot(options);
  }
}
