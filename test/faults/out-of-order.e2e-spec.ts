import { expectClean, FaultCluster, hold } from './harness';

/**
 * Fault 5: host transactions that commit out of id order. A fifth of the calls are made inside
 * a host transaction (`{ manager }`) held open 0.3–3 s on purpose, while the other calls commit
 * larger ids meanwhile; a fifth of the held ones roll back. Tabs keep reconnecting throughout
 * (their cursor is then often past a row that has not committed yet): every committed row must
 * still reach every recipient, and no rolled-back row anyone.
 */
describe('fault: host transactions commit out of id order while tabs reconnect', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ fault: 'out-of-order-commits' });
  }, 180_000);
  afterAll(() => cluster?.close(), 60_000);

  it('delivers every late commit to every recipient, and nothing rolled back', async () => {
    const { ledger } = cluster;
    await cluster.startStream({ held: { share: 0.2, minMs: 300, maxMs: 3000, rollback: 0.2, maxOpen: 12 } });
    // Three tabs lose their connection every 400 ms: each tab reconnects every ~8 s.
    const stopChurn = cluster.churnTabs(3, 400);
    await hold(20_000);
    stopChurn();
    const churnEnd = Date.now();
    const mark = await cluster.mark();
    const caughtUpMs = await cluster.caughtUp(mark, churnEnd);
    await cluster.stopStream();

    // Rows whose commit came after a larger id had committed: the fault really happened.
    const committed = [...ledger.calls.values()].filter((c) => c.outcome === 'committed').sort((x, y) => x.settledAt - y.settledAt);
    let newest = 0n;
    let late = 0;
    for (const call of committed) {
      for (const row of call.rows) {
        const id = BigInt(row.id);
        if (id < newest) late++;
        else newest = id;
      }
    }
    const held = [...ledger.calls.values()].filter((c) => c.held);
    const report = await cluster.finish(caughtUpMs, {
      heldCalls: held.length,
      heldCommitted: held.filter((c) => c.outcome === 'committed').length,
      heldRolledBack: held.filter((c) => c.outcome === 'rolled-back').length,
      rowsCommittedAfterALargerId: late,
      allTabsConnectedMs: ledger.allSyncedMs,
    });
    expectClean(report);
    expect(late).toBeGreaterThan(50);
    expect(report.calls.rolledBack).toBeGreaterThan(5);
    expect(report.duplicates.reconnects).toBeGreaterThan(100);
  }, 150_000);
});
