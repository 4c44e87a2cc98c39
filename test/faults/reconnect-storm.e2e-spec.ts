import { until } from '../support/processes';
import { expectClean, FaultCluster } from './harness';

/**
 * Fault 4: a reconnect storm. 5,000 extra sockets (500 signed-in users with 10 tabs each, half on
 * each instance, in a load process of their own) and the 60 ledger tabs all lose their transport
 * at the same moment (both instances close every connection at once, as a network blip would)
 * and reconnect together, each with its cursor, while the stream goes on.
 *
 * Limits: 10 tabs per user stay under the default `maxConnectionsPerUser` (20 per instance: each
 * load user has 5 sockets per instance); the sockets send no client events, so `eventRateLimit`
 * does not apply. `sessionTimeoutMs` is raised to 30 s (FAULTS_STORM_SESSION_TIMEOUT_MS; the
 * default is 5 s): every handshake waits for its session, catch-up and unread queries behind
 * thousands of others in the instance's pools, and with 5 s most are refused UNAVAILABLE, retried
 * ~1 s later while the refused ones' queries still run, and the storm took 90 s or did not settle
 * within 2 minutes on the 2-core machine (with 30 s: no refusal, about 40 s).
 * Broadcasts are 1 in 500 calls here (one every 5 s): each reaches all 5,060 sockets and makes
 * both instances recount the unread badge of all 550 users and send it to every socket, which at
 * 2 a second kept the instances busy before any storm.
 * The load sockets reconnect with socket.io-client's default delays (1 s doubling to 5 s, ±50%),
 * as the bundled client does, and a refused handshake is retried after ~1 s.
 */
const SESSION_TIMEOUT_MS = Number(process.env.FAULTS_STORM_SESSION_TIMEOUT_MS ?? 30_000);

describe('fault: a reconnect storm of 5,000 sockets', () => {
  let cluster: FaultCluster;

  beforeAll(async () => {
    cluster = await FaultCluster.start({ fault: 'reconnect-storm', options: { sessionTimeoutMs: SESSION_TIMEOUT_MS } });
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
    const monitor = cluster.monitor(() => last && { synced: last.synced, syncing: last.syncing, reconnecting: last.reconnecting });
    const loadSyncedMs = await until(
      'every load socket reconnected and caught up',
      async () => {
        last = await load.call('stats');
        return last.syncs - before.syncs >= sockets.length && last.synced === sockets.length;
      },
      // Under 40 s on the 2-core machine alone; several times that when other work shares it.
      180_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; load sockets: ${JSON.stringify(last)}`);
    });
    const peaks = monitor.stop();
    const caughtUpMs = await cluster.caughtUp(mark, dropAt, 60_000);
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
      peaks,
    });
    expectClean(report);
    expect(dropped.reduce((s, n) => s + n, 0)).toBeGreaterThanOrEqual(sockets.length + ledger.clients.length);
  }, 360_000);
});
