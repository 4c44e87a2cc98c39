import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { NOTIFICATIONS_MIGRATIONS, NotificationsModule } from 'nestjs-inbox';
import { AuthController } from './auth/auth.controller';
import { MessagesController } from './messages/messages.controller';
import { MessagesService } from './messages/messages.service';
import { isMutable } from './notification-types';
import { HealthModule } from './observability/health.module';
import { observabilityOn } from './observability/metrics';
import { demoSession } from './session';
import { canAccessWorkspace } from './workspaces';
import { AvatarController } from './web/avatar.controller';
import { DemoPageController } from './web/demo-page.controller';

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
      inject: [ConfigService],
      useFactory: (config: ConfigService) => ({
        session: demoSession,
        allowedOrigins: [config.get('APP_ORIGIN', `http://localhost:${config.get('PORT', 3000)}`)],
        redis: config.get('REDIS_URL') ? { url: config.get('REDIS_URL') } : undefined,
        canSubscribe: (_userId: string, topic: string) => /^[\w-]{1,50}$/.test(topic),
        mutable: isMutable,
        canAccessScope: canAccessWorkspace,
      }),
    }),
    ...(observabilityOn ? [HealthModule] : []),
  ],
  controllers: [AuthController, MessagesController, DemoPageController, AvatarController],
  providers: [MessagesService],
})
export class AppModule {}
