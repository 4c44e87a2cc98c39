import { expectClean, FaultCluster, hold } from './harness';
import { until } from '../support/processes';

/**
 * Fault 7: the SQL door under the faults its wake-up must survive. Every call is
 * `SELECT inbox_notify(...)` (inbox_publish, inbox_broadcast) from the worker's connections, as
 * a program in another language makes it: producers NOTIFY only a listener that waits for a
 * wake-up (InboxSqlWake), so a row whose transaction found the listeners reading must still be
 * read. A fifth of the calls run in transactions held open 0.3–3 s (a fifth of those roll back)
 * while others commit larger ids; tabs keep reconnecting; twice, Postgres ends both gateways'
 * listening connections (their wake-up locks with them) while calls are committing. Every
 * committed row must reach every recipient once, and no rolled-back row anyone.
 */
describe('fault: the SQL door, out of order, with its listeners cut', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ fault: 'sql-door' });
  }, 180_000);
  afterAll(() => cluster?.close(), 60_000);

  it('delivers every committed SQL call to every recipient once, and nothing rolled back', async () => {
    const { ledger } = cluster;
    const listeners = () =>
      cluster.query<{ pid: number }>(
        `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'nestjs-inbox listener'`,
      );
    await cluster.startStream({ door: 'sql', held: { share: 0.2, minMs: 300, maxMs: 3000, rollback: 0.2, maxOpen: 12 } });
    // Every tab holds a cursor before the churn starts: a tab dropped before its first
    // notification reconnects with none, and a truncated catch-up then has nothing to page back to.
    await cluster.streamed(200);
    const stopChurn = cluster.churnTabs(3, 400);
    let cuts = 0;
    for (let i = 0; i < 2; i++) {
      await hold(6_000);
      // Both listen (again, after a cut: each reconnects a second after it lost its connection).
      await until('both gateways listen', async () => (await listeners()).length === 2, 30_000);
      const [{ n }] = await cluster.query<{ n: number }>(
        `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'nestjs-inbox listener'`,
      );
      cuts += n;
    }
    await hold(6_000);
    stopChurn();
    const churnEnd = Date.now();
    const mark = await cluster.mark();
    const caughtUpMs = await cluster.caughtUp(mark, churnEnd);
    await cluster.stopStream();

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
    // Both gateways registered again after the cuts (dead backends' rows are taken out).
    await until('both gateways listen', async () => (await listeners()).length === 2, 30_000);
    const registered = await cluster.query<{ pid: number }>(`SELECT pid FROM inbox_sql_listener`);
    expect(registered.map((r) => r.pid).sort()).toEqual((await listeners()).map((r) => r.pid).sort());
    const report = await cluster.finish(caughtUpMs, {
      listenerConnectionsCut: cuts,
      rowsCommittedAfterALargerId: late,
      allTabsConnectedMs: ledger.allSyncedMs,
    });
    expectClean(report);
    expect(cuts).toBe(4);
    expect(late).toBeGreaterThan(50);
    expect(report.calls.rolledBack).toBeGreaterThan(5);
    expect(registered).toHaveLength(2);
  }, 150_000);
});
