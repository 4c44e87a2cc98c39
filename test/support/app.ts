import { INestApplication, INestApplicationContext, Module, Provider, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { parse as parseCookie } from 'cookie';
import {
  NotificationService,
  NotificationsModule,
  NotificationsModuleExtras,
  NotificationsModuleOptions,
  SessionSource,
} from 'nestjs-inbox';
import { DataSource } from 'typeorm';

export const ORIGIN = 'http://app.test';

/** The plain function session source of the tests: the `uid` cookie names the user. */
export const cookieUser: SessionSource = (handshake) => {
  const uid = parseCookie(handshake.headers.cookie ?? '').uid;
  return uid ? { userId: uid } : null;
};

export { migrate } from './migrate';

export interface TestApp {
  app: INestApplication;
  url: string;
  service: NotificationService;
  dataSource: DataSource;
  close(): Promise<void>;
}

/** The host's own parts: controllers and gateways beside the module, HTTP middleware. */
export interface HostParts {
  /** Modules the host imports besides TypeORM and the notifications module (e.g. TerminusModule). */
  imports?: Type[];
  controllers?: Type[];
  providers?: Provider[];
  /** Runs before the app listens, e.g. to `app.use(session(...))`. */
  configure?: (app: INestApplication) => void;
}

function hostModule(
  databaseUrl: string,
  options: Partial<NotificationsModuleOptions>,
  extras: NotificationsModuleExtras,
  host: HostParts = {},
) {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: databaseUrl, extra: { max: 10 } }),
      NotificationsModule.forRoot({ session: cookieUser, allowedOrigins: [ORIGIN], ...options, ...extras }),
      ...(host.imports ?? []),
    ],
    controllers: host.controllers ?? [],
    providers: host.providers ?? [],
  })
  class HostModule {}
  return HostModule;
}

/** A host app as a user writes it: TypeORM on the given database plus the module. */
export async function startApp(
  databaseUrl: string,
  options: Partial<NotificationsModuleOptions> = {},
  extras: NotificationsModuleExtras = {},
  host: HostParts = {},
): Promise<TestApp> {
  const app = await NestFactory.create(hostModule(databaseUrl, options, extras, host), { logger: ['error'] });
  app.enableShutdownHooks();
  host.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return {
    app,
    url,
    service: app.get(NotificationService),
    dataSource: app.get(DataSource),
    close: () => app.close(),
  };
}

/** A producer-only process (a worker or cron job): no HTTP server, no gateway. */
export async function startWorker(
  databaseUrl: string,
  options: Partial<NotificationsModuleOptions> = {},
): Promise<{ service: NotificationService; app: INestApplicationContext; close(): Promise<void> }> {
  const ctx = await NestFactory.createApplicationContext(
    hostModule(databaseUrl, { session: undefined, allowedOrigins: undefined, ...options }, { gateway: false }),
    { logger: ['error'] },
  );
  ctx.enableShutdownHooks();
  return { service: ctx.get(NotificationService), app: ctx, close: () => ctx.close() };
}
