import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { expressSession, NOTIFICATIONS_MIGRATIONS, NotificationsModule } from 'nestjs-inbox';
import { AppController } from './app.controller';
import { SESSION_COOKIE, SESSION_SECRET, sessionStore } from './session';

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      migrations: [...NOTIFICATIONS_MIGRATIONS],
      migrationsRun: true,
    }),
    NotificationsModule.forRoot({
      session: expressSession({ store: sessionStore, secret: SESSION_SECRET, name: SESSION_COOKIE }),
      allowedOrigins: [process.env.ALLOWED_ORIGIN ?? 'http://localhost:3000'],
      redis: { url: process.env.REDIS_URL },
    }),
  ],
  controllers: [AppController],
})
export class AppModule {}
