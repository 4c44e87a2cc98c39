import { sleep } from '../lib/clock';
import { Clients, type Env, startServer, type Target, users } from '../lib/harness';
import { type ScenarioResult } from '../lib/result';
import { median } from '../lib/stats';

/**
 * 5. Memory and 3. broadcast share one fleet of `fleetClients` idle authenticated connections
 * per target: the server's RSS and heap (after a full GC) before and after they connect, then
 * the time from `broadcast` (library: stored, then emitted) or `io.emit` (bare) until every
 * client has it. Both fleets stay up and the broadcasts alternate between them, so a busy
 * moment of the machine does not fall on one side only.
 */
async function connectFleet(env: Env, target: Target) {
  const { fleetClients } = env.sizes;
  const server = await startServer(env, target);
  const clients = Clients.start(env);
  const before = await server.child.call('memory');
  const t = Date.now();
  await clients.connect([server.url], users('fleet-', fleetClients));
  env.log(`  ${target}: ${fleetClients} clients connected in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  await sleep(500);
  const after = await server.child.call('memory');
  const perConn = {
    rss: (after.rss - before.rss) / fleetClients,
    heap: (after.heapUsed - before.heapUsed) / fleetClients,
  };
  return { target, server, clients, perConn, times: [] as number[] };
}

async function broadcastOnce(env: Env, f: Awaited<ReturnType<typeof connectFleet>>): Promise<void> {
  const { fleetClients } = env.sizes;
  await f.clients.reset();
  const { t0 } = await f.server.child.call('broadcast');
  const { received, lastAt } = await f.clients.collect(fleetClients, 30_000);
  if (received < fleetClients) throw new Error(`${f.target}: broadcast reached ${received} of ${fleetClients}`);
  f.times.push(lastAt - t0);
  await sleep(300); // let the library's unread recount after a broadcast settle
}

async function fleets(env: Env) {
  const lib = await connectFleet(env, 'library');
  try {
    const bare = await connectFleet(env, 'bare');
    try {
      for (let i = 0; i < env.sizes.broadcastRepeats; i++) {
        for (const f of i % 2 ? [bare, lib] : [lib, bare]) await broadcastOnce(env, f);
      }
      for (const f of [lib, bare]) env.log(`  ${f.target}: broadcast to all in ${f.times.map((x) => x.toFixed(0)).join(', ')} ms`);
      return {
        lib: { perConn: lib.perConn, broadcast: median(lib.times) },
        bare: { perConn: bare.perConn, broadcast: median(bare.times) },
      };
    } finally {
      await bare.clients.stop();
      await bare.server.child.stop();
    }
  } finally {
    await lib.clients.stop();
    await lib.server.child.stop();
  }
}

export async function memoryAndBroadcast(env: Env): Promise<ScenarioResult> {
  const { lib, bare } = await fleets(env);
  const n = env.sizes.fleetClients;
  const kib = (x: number) => x / 1024;
  return {
    rows: [
      {
        scenario: `3. Broadcast, ${n} clients`,
        metric: `median time until all have it (${env.sizes.broadcastRepeats} runs)`,
        unit: 'ms',
        library: lib.broadcast,
        baseline: bare.broadcast,
        baselineName: 'bare `io.emit`',
        better: 'lower',
        target: { text: '≤ 1.2× bare', met: lib.broadcast <= 1.2 * bare.broadcast, limit: 1.2 * bare.broadcast },
      },
      {
        scenario: `5. Memory, ${n} idle clients`,
        metric: 'RSS per connection',
        unit: 'KiB',
        library: kib(lib.perConn.rss),
        baseline: kib(bare.perConn.rss),
        baselineName: 'bare Socket.IO',
        better: 'lower',
        target: { text: '≤ 1.3× bare', met: lib.perConn.rss <= 1.3 * bare.perConn.rss, limit: kib(1.3 * bare.perConn.rss) },
      },
      {
        scenario: `5. Memory, ${n} idle clients`,
        metric: 'heap per connection',
        unit: 'KiB',
        library: kib(lib.perConn.heap),
        baseline: kib(bare.perConn.heap),
        baselineName: 'bare Socket.IO',
        better: 'lower',
        target: { text: '≤ 1.3× bare', met: lib.perConn.heap <= 1.3 * bare.perConn.heap, limit: kib(1.3 * bare.perConn.heap) },
      },
    ],
  };
}
