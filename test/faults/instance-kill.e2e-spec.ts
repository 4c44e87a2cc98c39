import { expectClean, FaultCluster } from './harness';

/**
 * Fault 1: one gateway instance is SIGKILLed mid-stream (no shutdown hook, no goodbye to Redis
 * or its sockets). Its tabs reconnect to the other instance with their cursor; the catch-up must
 * give them everything committed meanwhile, and the tabs on the surviving instance must not notice.
 */
describe('fault: SIGKILL of a gateway instance mid-stream', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ fault: 'instance-sigkill' });
  }, 180_000);
  afterAll(() => cluster?.close(), 60_000);

  it('loses nothing: the killed instance’s tabs catch up on the other one', async () => {
    const { ledger, a, b } = cluster;
    await cluster.startStream();
    await cluster.streamed(500);
    const onA = ledger.clients.filter((c) => c.url === a.url);
    expect(onA.length).toBeGreaterThanOrEqual(25);

    const killedAt = Date.now();
    await a.child.kill();
    // Everything committed until the kill must reach every tab, the killed instance's included.
    const mark = await cluster.mark();
    const caughtUpMs = await cluster.caughtUp(mark, killedAt);
    const reported = ledger.calls.size;
    await cluster.streamed(reported + 500);

    const report = await cluster.finish(caughtUpMs, {
      tabsOnKilledInstance: onA.length,
      reconnectsOfThoseTabs: onA.reduce((s, c) => s + c.syncs - 1, 0),
      duplicatesOfThoseTabs: onA.reduce((s, c) => s + c.duplicates, 0),
    });
    expectClean(report);
    expect(ledger.clients.every((c) => c.url === b.url)).toBe(true);
    expect(report.calls.failed).toBe(0);
  }, 150_000);
});
