import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { NotificationsHealthIndicator } from 'nestjs-inbox';
import { migrate, startApp, startWorker, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { RedisServer, until } from '../support/processes';

/** A host's readiness endpoint, as docs/observability.md shows it. */
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly inbox: NotificationsHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.inbox.isHealthy()]);
  }
}

describe('NotificationsHealthIndicator with @nestjs/terminus', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  // This test's own redis-server, on its own port: stopping it touches nobody else's.
  let redis: RedisServer;
  let t: TestApp;
  const get = async () => {
    const answer = await fetch(`${t.url}/health`);
    return { status: answer.status, body: (await answer.json()) as any };
  };

  beforeAll(async () => {
    [db, redis] = await Promise.all([createDatabase(), RedisServer.start()]);
    await migrate(db.url);
    t = await startApp(db.url, { redis: { url: redis.url } }, {}, { imports: [TerminusModule], controllers: [HealthController] });
    await until('Redis connected', () => t.service.health().redis === 'up');
  });
  afterAll(async () => {
    await t?.close();
    await redis?.stop();
    await db?.drop();
  });

  it('reports every part up', async () => {
    expect(await get()).toEqual({
      status: 200,
      body: {
        status: 'ok',
        info: { inbox: { status: 'up', store: 'up', sqlListener: 'up', redis: { publisher: 'up', subscriber: 'up' } } },
        error: {},
        details: { inbox: { status: 'up', store: 'up', sqlListener: 'up', redis: { publisher: 'up', subscriber: 'up' } } },
      },
    });
  });

  it('is down while Redis is, saying so and that local delivery continues (it does), and up once it is back', async () => {
    const c = await TestClient.connect(t.url, 'h-1');
    try {
      await redis.stop();
      let answer = await get();
      await until('the check reports Redis down', async () => (answer = await get()).status === 503);
      expect(answer.body.status).toBe('error');
      expect(answer.body.error.inbox).toMatchObject({
        status: 'down',
        store: 'up',
        sqlListener: 'up',
        redis: { publisher: 'down', subscriber: 'down' },
        message: expect.stringMatching(/^down: Redis \(publisher and subscriber\): local delivery continues/),
      });
      await t.service.notify('h-1', { type: 'alert', title: 'during the outage' });
      await c.waitForTitle('during the outage');
      await redis.restart();
      await until('the check reports up again', async () => (await get()).status === 200, 15_000);
    } finally {
      c.close();
    }
  });

  it('is down when the store does not answer its query, naming the error', async () => {
    const { dataSource } = t;
    await dataSource.query('ALTER TABLE inbox_notification RENAME TO inbox_notification_away');
    try {
      const result = await t.app.get(NotificationsHealthIndicator).isHealthy('notifications');
      expect(result.notifications).toMatchObject({
        status: 'down',
        store: 'down',
        message: expect.stringMatching(/^down: store \(.*inbox_notification.*\): notify\(\) fails/),
      });
    } finally {
      await dataSource.query('ALTER TABLE inbox_notification_away RENAME TO inbox_notification');
    }
    expect((await get()).status).toBe(200);
  });

  it('reports the listener and Redis off in a producer-only process without Redis', async () => {
    const worker = await startWorker(db.url);
    try {
      expect(await worker.app.get(NotificationsHealthIndicator).isHealthy()).toEqual({
        inbox: { status: 'up', store: 'up', sqlListener: 'off', redis: 'off' },
      });
    } finally {
      await worker.close();
    }
  });
});
