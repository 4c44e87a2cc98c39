import type { NotificationsModuleOptions } from 'nestjs-inbox';
import { RedisFanout } from 'nestjs-inbox/delivery/redis-fanout';
import { migrate, startApp, startWorker, TestApp } from './app';
import { createDatabase } from './database';
import { RedisServer, until } from './processes';

/** Two gateway instances and a producer-only worker over one database and one test-owned Redis. */
export interface Cluster {
  databaseUrl: string;
  redis: RedisServer;
  a: TestApp;
  b: TestApp;
  worker: Awaited<ReturnType<typeof startWorker>>;
  /** The gateway instances' Redis connections, to wait for an outage or its end. */
  fanouts(): RedisFanout[];
  close(): Promise<void>;
}

export async function startCluster(options: Partial<NotificationsModuleOptions> = {}): Promise<Cluster> {
  const [db, redis] = await Promise.all([createDatabase(), RedisServer.start()]);
  await migrate(db.url);
  const withRedis = { ...options, redis: { url: redis.url, ...options.redis } };
  const [a, b, worker] = await Promise.all([
    startApp(db.url, withRedis),
    startApp(db.url, withRedis),
    startWorker(db.url, withRedis),
  ]);
  const fanouts = () => [a, b].map((t) => t.app.get(RedisFanout));
  await until('instances connected to Redis', () => fanouts().every((f) => f.up));
  return {
    databaseUrl: db.url,
    redis,
    a,
    b,
    worker,
    fanouts,
    close: async () => {
      await Promise.all([a.close(), b.close(), worker.close()]);
      await redis.stop();
      await db.drop();
    },
  };
}
