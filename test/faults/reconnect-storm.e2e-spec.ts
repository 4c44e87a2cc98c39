import { until } from '../support/processes';
import { expectClean, FaultCluster } from './harness';

/**
 * Fault 4: a reconnect storm. 5,000 extra sockets (500 signed-in users with 10 tabs each, half on
 * each instance, in a load process of their own) and the 60 ledger tabs all lose their transport
 * at the same moment (both instances close every connection at once, as a network blip would)
 * and reconnect together, each with its cursor, while the stream goes on.
 *
 * Limits: the module's defaults. 10 tabs per user stay under `maxConnectionsPerUser` (20 per
 * instance: each load user has 5 sockets per instance); the sockets send no client events, so
 * `eventRateLimit` does not apply. Every handshake reads the session from the Postgres store, and
 * one slower than `sessionTimeoutMs` (5 s) is refused UNAVAILABLE and retried by the client: the
 * refusals are counted. Broadcasts are 1 in 500 calls here (one every 5 s): each reaches all
 * 5,060 sockets and makes both instances recount the unread badge of all 550 users and send it to
 * every socket, which at 2 a second kept the instances busy before any storm.
 * The load sockets reconnect with socket.io-client's default delays (1 s doubling to 5 s, ±50%),
 * as the bundled client does, and a refused handshake is retried after ~1 s.
 */
describe('fault: a reconnect storm of 5,000 sockets', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ fault: 'reconnect-storm' });
  }, 180_000);
  afterAll(() => cluster?.close(), 60_000);

  it('reconnects every socket and catches every tab up, losing nothing', async () => {
    const { ledger, instances } = cluster;
    const { sockets } = await cluster.startLoad(500, 10);
    const load = cluster.load!;
    await cluster.startStream({ mix: { notify: 79.8, publish: 20, broadcast: 0.2 } });
    await cluster.streamed(300);
    const before = await load.call('stats');

    const dropAt = Date.now();
    const dropped = await Promise.all(instances.map((i) => i.child.call<number>('dropAll')));
    const mark = await cluster.mark();
    let last: any;
    const diag = process.env.FAULTS_DIAG
      ? setInterval(async () => {
          const [res, lag] = await Promise.all([
            Promise.all(instances.map((i) => i.child.call('resources'))),
            Promise.all(instances.map((i) => i.child.call('eventLoop'))),
          ]);
          const ports = instances.map((i) => new URL(i.url).port);
          const { execSync } = await import('node:child_process');
          const q = execSync('ss -ltnH').toString().split('\n').filter((l) => ports.some((p) => l.includes(`:${p} `))).map((l) => l.split(/\s+/)[1]);
          console.log(`diag +${Date.now() - dropAt} load ${JSON.stringify(last && { synced: last.synced, syncing: last.syncing, reconnecting: last.reconnecting, refusals: last.refusals })} inst ${JSON.stringify(res.map((r, i) => ({ s: r.sockets, e: r.engineClients, fds: r.fds, pool: r.typeorm, store: r.sessionStore, lag: lag[i].maxMs, acceptQ: q[i] })))}`);
        }, 3000)
      : undefined;
    const loadSyncedMs = await until(
      'every load socket reconnected and caught up',
      async () => {
        last = await load.call('stats');
        return last.syncs - before.syncs >= sockets.length && last.synced === sockets.length;
      },
      120_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; load sockets: ${JSON.stringify(last)}`);
    }).finally(() => clearInterval(diag));
    const caughtUpMs = await cluster.caughtUp(mark, dropAt, 120_000);
    await cluster.streamed(ledger.calls.size + 300);

    const after = await load.call('stats');
    const report = await cluster.finish(caughtUpMs, {
      socketsDropped: dropped.reduce((s, n) => s + n, 0),
      loadSocketsReconnectedMs: loadSyncedMs,
      ledgerTabsConnectedMs: ledger.allSyncedMs,
      loadDuplicates: after.duplicates - before.duplicates,
      loadDuplicatesInCatchUps: after.catchUpDuplicates - before.catchUpDuplicates,
      loadDuplicatesPerReconnect: Math.round(((after.duplicates - before.duplicates) / sockets.length) * 10) / 10,
      loadRefusals: after.refusals,
      loadCatchUpErrors: after.catchUpErrors,
    });
    expectClean(report);
    expect(dropped.reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(sockets.length + ledger.clients.length);
  }, 300_000);
});
