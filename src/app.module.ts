import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NOTIFICATIONS_MIGRATIONS, NotificationsModule } from 'nestjs-inbox';
import { AuthController } from './auth/auth.controller';
import { DemoMailModule, demoChannels, demoOrigin } from './channels/demo-channels';
import { MailCatcher } from './channels/mail-catcher';
import { MessagesController } from './messages/messages.controller';
import { MessagesService } from './messages/messages.service';
import { isMutable } from './notification-types';
import { HealthModule } from './observability/health.module';
import { observabilityOn } from './observability/metrics';
import { demoSession } from './session';
import { canAccessWorkspace } from './workspaces';
import { AvatarController } from './web/avatar.controller';
import { DemoPageController } from './web/demo-page.controller';
import { EmailLogController } from './web/email-log.controller';

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true }),
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        type: 'postgres',
        url: config.getOrThrow<string>('DATABASE_URL'),
        autoLoadEntities: true,
        migrations: [...NOTIFICATIONS_MIGRATIONS],
        migrationsRun: true,
      }),
    }),
    NotificationsModule.forRootAsync({
      imports: [DemoMailModule],
      inject: [ConfigService, MailCatcher],
      useFactory: async (config: ConfigService, catcher: MailCatcher) => ({
        session: demoSession,
        allowedOrigins: [demoOrigin(config)],
        redis: config.get('REDIS_URL') ? { url: config.get('REDIS_URL') } : undefined,
        canSubscribe: (_userId: string, topic: string) => /^[\w-]{1,50}$/.test(topic),
        mutable: isMutable,
        canAccessScope: canAccessWorkspace,
        channels: await demoChannels(config, catcher),
      }),
    }),
    DemoMailModule,
    ...(observabilityOn ? [HealthModule] : []),
  ],
  controllers: [AuthController, MessagesController, DemoPageController, AvatarController, EmailLogController],
  providers: [MessagesService],
})
export class AppModule {}
