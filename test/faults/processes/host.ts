import { INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import connectPgSimple from 'connect-pg-simple';
import session from 'express-session';
import { Pool } from 'pg';
import { expressSession, NotificationsModule, type NotificationsModuleOptions } from 'nestjs-inbox';
import { EventLoopWatch, type EventLoopReport } from '../../../bench/lib/event-loop';

/**
 * A host app as a site writes it, shared by the gateway instances and the producer-only worker
 * of the fault suite: TypeORM on the test database, the site's `express-session` sessions in
 * connect-pg-simple (the same store for every instance), and NotificationsModule on Redis.
 */
export interface HostConfig {
  databaseUrl: string;
  redisUrl: string;
  origin: string;
  secret: string;
  /** JSON-able module options of the test (limits, catch-up settings). */
  options: Partial<NotificationsModuleOptions>;
  /** TypeORM pool size. */
  poolMax: number;
}

export const config: HostConfig = JSON.parse(process.env.FAULT_HOST ?? '{}');

const PgStore = connectPgSimple(session);

/** The session store's own connections (as connect-pg-simple would open them), visible to `resources`. */
export const sessionPool = new Pool({ connectionString: config.databaseUrl, max: 10 });
sessionPool.on('error', (err) => console.error('session store pool:', err.message));

/** The site's session store, as its express-session middleware uses it. */
export const store = new PgStore({
  pool: sessionPool,
  pruneSessionInterval: false,
  // A store that cannot reach Postgres logs each failed query; the test reads the log only on failure.
  errorLog: (...args: unknown[]) => console.error('session store:', ...args.map(String)),
});

function hostModule(gateway: boolean) {
  @Module({
    imports: [
      TypeOrmModule.forRoot({ type: 'postgres', url: config.databaseUrl, extra: { max: config.poolMax } }),
      NotificationsModule.forRoot({
        ...(gateway
          ? {
              session: expressSession({ store, secret: config.secret, name: 'connect.sid', userId: 'userId' }),
              allowedOrigins: [config.origin],
              canSubscribe: () => true,
            }
          : {}),
        redis: { url: config.redisUrl },
        ...config.options,
        gateway,
      }),
    ],
  })
  class FaultHostModule {}
  return FaultHostModule;
}

/** A gateway instance with the site's session middleware and a login route. */
export async function startInstance() {
  const app = await NestFactory.create(hostModule(true), { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  app.use(session({ store, secret: config.secret, resave: false, saveUninitialized: false, name: 'connect.sid' }));
  // The site's login: the session names the user; express-session sets the signed cookie.
  app.use('/login', (req: any, res: any) => {
    const user = new URL(req.originalUrl, 'http://x').searchParams.get('user');
    if (!user) return res.status(400).end('user?');
    req.session.userId = user;
    req.session.save((err: unknown) => (err ? res.status(503).end(String(err)) : res.status(200).end('ok')));
  });
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url };
}

/** A producer-only process: no HTTP server, no gateway, on the same Redis. */
export async function startWorker(): Promise<INestApplicationContext> {
  const ctx = await NestFactory.createApplicationContext(hostModule(false), { logger: ['error', 'warn'] });
  ctx.enableShutdownHooks();
  return ctx;
}

/**
 * The event loop's delay, so a stalled process shows in the figures, with what each long stall
 * was made of (the process's own CPU, GC, or waiting for a core: bench/lib/event-loop.ts).
 */
const loop = new EventLoopWatch();

/** Longest and 99th-percentile event-loop delay (ms) since the last call, GC time and the longest stalls. */
export function eventLoop(): EventLoopReport {
  return loop.read();
}

/**
 * Heap and RSS after full collections (the process runs with --expose-gc). The watch notes the
 * forced collections: their pauses are the measurement's, not the event-loop delay of the app.
 */
export async function memory(): Promise<{ rss: number; heapUsed: number }> {
  for (let i = 0; i < 2; i++) {
    loop.collect();
    await new Promise((r) => setTimeout(r, 20));
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}
