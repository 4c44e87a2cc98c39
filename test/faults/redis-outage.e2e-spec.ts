import { until } from '../support/processes';
import { expectClean, FaultCluster, hold } from './harness';

/**
 * Fault 3: Redis is killed mid-stream, stays away 10 s, then comes back. The worker keeps
 * storing (the database is the source of truth) but cannot publish; the instances deliver
 * nothing of it live meanwhile and must make up for it when Redis returns. Some tabs also
 * reconnect during the outage (their catch-up comes from the database).
 */
describe('fault: Redis stopped for 10 s, then restarted', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ fault: 'redis-outage' });
  }, 180_000);
  afterAll(() => cluster?.close(), 60_000);

  it('loses nothing: what the outage held back arrives once Redis is back', async () => {
    const { ledger, redis, instances, worker } = cluster;
    const processes = [...instances.map((i) => i.child), worker];
    const redisUp = async () => (await Promise.all(processes.map((p) => p.call<boolean>('redisUp')))).filter(Boolean).length;
    await cluster.startStream();
    await cluster.streamed(300);

    await redis.stop();
    const downAt = Date.now();
    await until('every process noticed the outage', async () => (await redisUp()) === 0, 10_000);
    await hold(4_000);
    // Tabs that reconnect while Redis is away: their catch-up comes from the database.
    const reconnecting = ledger.clients.filter((_, i) => i % 6 === 0);
    reconnecting.forEach((c) => c.drop());
    await hold(10_000 - (Date.now() - downAt));
    const duringOutage = ledger.calls.size;

    await redis.restart();
    const upAt = Date.now();
    const resumedMs = await until('every process reached Redis again', async () => (await redisUp()) === processes.length, 20_000);
    const mark = await cluster.mark();
    const caughtUpMs = await cluster.caughtUp(mark, upAt);
    await cluster.streamed(ledger.calls.size + 300);

    const report = await cluster.finish(caughtUpMs, {
      outageMs: upAt - downAt,
      callsDuringOutage: duringOutage,
      redisReachedAgainMs: resumedMs,
      allTabsConnectedMs: ledger.allSyncedMs,
      tabsReconnectedDuringOutage: reconnecting.length,
    });
    expectClean(report);
    // The database was up all along: no call failed.
    expect(report.calls.failed).toBe(0);
  }, 150_000);
});
