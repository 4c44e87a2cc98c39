import type { NotificationService, NotificationsModuleOptions } from 'nestjs-inbox';
import { migrate, startApp, startWorker, type TestApp } from './app';
import { createDatabase } from './database';
import { RedisServer, until } from './processes';

/** Two gateway instances and a producer-only worker over one database and one test-owned Redis. */
export interface Cluster {
  databaseUrl: string;
  redis: RedisServer;
  a: TestApp;
  b: TestApp;
  worker: Awaited<ReturnType<typeof startWorker>>;
  /** The gateway instances' services, to wait for a Redis outage or its end (`health()`). */
  instances(): NotificationService[];
  close(): Promise<void>;
}

export async function startCluster(options: Partial<NotificationsModuleOptions> = {}): Promise<Cluster> {
  const [db, redis] = await Promise.all([createDatabase(), RedisServer.start()]);
  await migrate(db.url);
  const withRedis = { ...options, redis: { url: redis.url, ...options.redis } };
  const [a, b, worker] = await Promise.all([startApp(db.url, withRedis), startApp(db.url, withRedis), startWorker(db.url, withRedis)]);
  const instances = () => [a.service, b.service];
  await until('instances connected to Redis', () => instances().every((s) => s.health().redis === 'up'));
  return {
    databaseUrl: db.url,
    redis,
    a,
    b,
    worker,
    instances,
    close: async () => {
      await Promise.all([a.close(), b.close(), worker.close()]);
      await redis.stop();
      await db.drop();
    },
  };
}
