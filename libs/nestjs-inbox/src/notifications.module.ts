import { Module } from '@nestjs/common';
import { NotificationsConfigurableModule } from './notifications.module-definition';

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
export class NotificationsModule extends NotificationsConfigurableModule {}
