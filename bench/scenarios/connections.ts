import { execFileSync } from 'node:child_process';
import { panelsSvg } from '../lib/chart';
import { now, sleep } from '../lib/clock';
import { type Env, inTurn, type Server, startServer, type Target, users } from '../lib/harness';
import { type Child, spawnChild } from '../lib/ipc';
import { type Row, type ScenarioResult } from '../lib/result';
import { median } from '../lib/stats';

/**
 * 8. Connections at scale: one server holds `connections` idle authenticated connections
 * (100,000 in the full run), opened by `connectionWorkers` load-generator processes
 * (workers/fleet-worker: bare `ws` sockets speaking Socket.IO's protocol, from several
 * loopback source addresses). Per side: the server's RSS and heap per connection (after a
 * full GC, before and after), the time from the first handshake to the last
 * `notifications:synced`, and the time from a broadcast to its arrival on every connection.
 * Baseline: bare Socket.IO with the same cookie and Origin check and user rooms
 * (servers/bare-server); and the same server reading, at each first visit, what an inbox shows
 * (the newest page and the unread count, one statement per connection): the database's part
 * of connecting any persisted inbox. One side at a time (two fleets of 100,000 would share the
 * two cores and the kernel's socket memory); the sides take turns going first, round by round.
 *
 * The file limits are raised for these processes only (`prlimit`, which needs root or a hard
 * limit that high already); without that, the scenario runs as many connections as the
 * limit allows and says so.
 */

/**
 * Connections per source address. Linux looks for a free ephemeral port of the address at
 * each bind; kept far below the ~28,000 of the range (and fresh addresses for each fleet, since
 * the last one's ports sit in TIME_WAIT), that search stays short.
 */
const PER_ADDRESS = 2000;
/** Handshakes in flight per load-generator process (bounded so the listen backlog does not overflow). */
const IN_FLIGHT = 64;
/** Descriptors a process needs besides its connections (Postgres, Redis, IPC, node itself). */
const SPARE_FILES = 1000;

interface FleetResult {
  target: Target;
  connected: number;
  errors: Record<string, number>;
  connectMs: number;
  /** Server CPU per connection while they connect (all instances). */
  connectCpuUs: number;
  /** Share of a core used while the connections sit idle: servers, load generator. */
  idle: { server: number; clients: number };
  perConn: { rss: number; heap: number };
  broadcastMs: number[];
  /** Load generator memory per connection (RSS), for the notes. */
  clientRss: number;
  /** [seconds since the first handshake, connections up] for the chart. */
  curve: [number, number][];
  /** [connections on the server(s), their RSS in MiB] sampled while they connect. */
  rssCurve: [number, number][];
}

/** Whether `prlimit` can give a child `files` descriptors (needs CAP_SYS_RESOURCE, or a hard limit already that high). */
function canRaiseFiles(files: number): boolean {
  try {
    execFileSync('prlimit', [`--nofile=${files}:${files}`, '--', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function hardFileLimit(): number {
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  return hard === 'unlimited' ? Infinity : Number(hard);
}

/** Fresh loopback source addresses for fleet `fleetNo`: 127.<10+fleetNo>.x.y (all of 127/8 is the loopback interface on Linux). */
const loopback = (fleetNo: number, count: number) =>
  Array.from({ length: count }, (_, i) => `127.${10 + fleetNo}.${(i + 1) >> 8}.${(i + 1) & 255}`);

/**
 * How the run holds `wanted` connections: in one server process when its open-file limit can be
 * raised that far, else in as many instances (joined through Redis, as a site runs several) as
 * the hard limit requires; the same for the load generator's processes.
 */
export interface ConnectionsPlan {
  n: number;
  instances: number;
  workers: number;
  /** Open-file limit given to each process with prlimit, or none (the hard limit as it is). */
  files?: { server: number; worker: number };
  /** Why more than one instance. */
  why?: string;
}

export function connectionsPlan(wanted: number, minWorkers: number): ConnectionsPlan {
  if (canRaiseFiles(wanted + SPARE_FILES)) {
    const workers = Math.min(minWorkers, wanted);
    return { n: wanted, instances: 1, workers, files: { server: wanted + SPARE_FILES, worker: Math.ceil(wanted / workers) + SPARE_FILES } };
  }
  const hard = hardFileLimit();
  const perProcess = hard - SPARE_FILES;
  const instances = Math.ceil(wanted / perProcess);
  const workers = instances * Math.ceil(Math.min(minWorkers, wanted) / instances);
  return {
    n: wanted,
    instances,
    workers,
    why:
      instances > 1
        ? `one process may hold at most ${hard.toLocaleString('en-US')} open files here (the hard limit; raising it needs ` +
          `CAP_SYS_RESOURCE, which \`prlimit\` does not have in this environment), so one server process holds at most ` +
          `~${perProcess.toLocaleString('en-US')} connections: each side runs ${instances} instances joined through Redis ` +
          `(${Math.ceil(wanted / instances).toLocaleString('en-US')} connections each, as a site would run several), the broadcast sent from the first`
        : undefined,
  };
}

/** A fleet's side: the library, bare Socket.IO, or bare Socket.IO reading a first visit's page and badge (`read`). */
type Side = Target | 'read';

async function fleet(env: Env, side: Side, plan: ConnectionsPlan, fleetNo: number): Promise<FleetResult> {
  const target: Target = side === 'read' ? 'bare' : side;
  const { n, instances, workers: workerCount } = plan;
  const share = Math.ceil(n / workerCount);
  const addresses = loopback(fleetNo, Math.max(2, Math.ceil(n / PER_ADDRESS)));
  // Same flags on both sides: room for the heap at the largest sizes, never a handicap at 100,000.
  const heapMb = Math.max(4096, Math.ceil(((n / instances) * 48) / 1024));
  const servers: Server[] = [];
  const workers: Child[] = [];
  try {
    for (let i = 0; i < instances; i++) {
      servers.push(
        await startServer(env, target, {
          redis: instances > 1,
          variables: side === 'read' ? { FIRST_VISIT_READ: '1' } : {},
          spawn: { ...(plan.files ? { files: plan.files.server } : {}), nodeArgs: [`--max-old-space-size=${heapMb}`] },
        }),
      );
    }
    for (let i = 0; i < workerCount; i++) {
      workers.push(
        spawnChild(`fleet-${target}-${i}`, 'workers/fleet-worker', { ORIGIN: env.origin }, plan.files ? { files: plan.files.worker } : {}),
      );
    }
    const names = users(`conn-${side}-`, n);
    const all = <T = any>(cmd: string, timeoutMs?: number) => Promise.all(servers.map((s) => s.child.call<T>(cmd, {}, timeoutMs)));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const before = await all('memory', 300_000);
    const clientBefore = await Promise.all(workers.map((w) => w.call('memory')));

    // The servers' RSS against their connection count while they open, for the chart.
    const rssCurve: [number, number][] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const [sockets, rss] = await Promise.all([all<number>('sockets'), all<number>('rss')]);
          rssCurve.push([sum(sockets), sum(rss) / 2 ** 20]);
        } catch {
          // a server that stopped answering shows up in the connect results
        }
        await sleep(n >= 10_000 ? 500 : 20);
      }
    })();

    const cpuBefore = sum(await all<number>('cpu'));
    const t0 = now();
    const results = await Promise.all(
      workers.map((w, i) =>
        w.call<{ connected: number; errors: Record<string, number>; syncedAt: number[] }>(
          'connect',
          { url: servers[i % instances].url, users: names.slice(i * share, (i + 1) * share), addresses, inFlight: IN_FLIGHT },
          1_800_000,
        ),
      ),
    );
    sampling = false;
    await sampler;
    const connectCpuMs = sum(await all<number>('cpu')) - cpuBefore;
    const synced = results.flatMap((r) => r.syncedAt).sort((a, b) => a - b);
    const connected = synced.length;
    const connectMs = connected ? synced[connected - 1] - t0 : NaN;
    const errors: Record<string, number> = {};
    for (const r of results) for (const [k, v] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + v;
    env.log(
      `  ${side}: ${connected} of ${n} connected in ${(connectMs / 1000).toFixed(1)} s` +
        (Object.keys(errors).length ? `; failed: ${JSON.stringify(errors)}` : ''),
    );
    const step = Math.max(1, Math.floor(connected / 200));
    const curve: [number, number][] = [[0, 0]];
    for (let k = step - 1; k < connected; k += step) curve.push([(synced[k] - t0) / 1000, k + 1]);

    await sleep(env.sizes.quick ? 200 : 1000);
    const after = await all('memory', 300_000);
    const clientAfter = await Promise.all(workers.map((w) => w.call('memory')));
    const perConn = {
      rss: (sum(after.map((m) => m.rss)) - sum(before.map((m) => m.rss))) / connected,
      heap: (sum(after.map((m) => m.heapUsed)) - sum(before.map((m) => m.heapUsed))) / connected,
    };
    const clientRss = clientAfter.reduce((s, m, i) => s + m.rss - clientBefore[i].rss, 0) / connected;

    // Holding them: the servers' and the load generator's CPU over an idle window (Engine.IO's
    // ping every 25 s per connection, a timer each, a frame each way).
    const IDLE_MS = env.sizes.quick ? 500 : 25_000; // one ping interval
    const idleFrom = [sum(await all<number>('cpu')), sum(await Promise.all(workers.map((w) => w.call<number>('cpu')))), now()];
    await sleep(IDLE_MS);
    const idleTo = [sum(await all<number>('cpu')), sum(await Promise.all(workers.map((w) => w.call<number>('cpu')))), now()];
    const idle = {
      server: (idleTo[0] - idleFrom[0]) / (idleTo[2] - idleFrom[2]),
      clients: (idleTo[1] - idleFrom[1]) / (idleTo[2] - idleFrom[2]),
    };
    env.log(
      `  ${side}: idle CPU ${(idle.server * 100).toFixed(0)}% server(s), ${(idle.clients * 100).toFixed(0)}% load generator; connect CPU ${((connectCpuMs * 1000) / connected).toFixed(0)} µs/connection`,
    );

    const broadcastMs: number[] = [];
    for (let i = 0; i < env.sizes.connectionBroadcasts && connected > 0; i++) {
      await Promise.all(workers.map((w) => w.call('reset')));
      const { t0: sent } = await servers[0].child.call('broadcast', {}, 120_000);
      const deadline = Date.now() + 120_000;
      let got = { received: 0, lastAt: 0 };
      while (got.received < connected && Date.now() < deadline) {
        await sleep(50);
        const stats = await Promise.all(workers.map((w) => w.call('stats')));
        got = { received: sum(stats.map((x) => x.received)), lastAt: Math.max(...stats.map((x) => x.lastAt)) };
      }
      if (got.received < connected) throw new Error(`${target}: broadcast reached ${got.received} of ${connected}`);
      broadcastMs.push(got.lastAt - sent);
      // The library's unread recount after a broadcast (one query per 1,000 users) settles first.
      await sleep(env.sizes.quick ? 100 : 500 + n / 50);
    }
    env.log(
      `  ${side}: RSS ${(perConn.rss / 1024).toFixed(1)} KiB, heap ${(perConn.heap / 1024).toFixed(1)} KiB per connection; ` +
        `broadcast to all in ${broadcastMs.map((x) => x.toFixed(0)).join(', ')} ms`,
    );
    return {
      target,
      connected,
      errors,
      connectMs,
      connectCpuUs: (connectCpuMs * 1000) / connected,
      idle,
      perConn,
      broadcastMs,
      clientRss,
      curve,
      rssCurve,
    };
  } finally {
    await Promise.all(workers.map((w) => w.call('disconnect', {}, 60_000).catch(() => undefined)));
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(servers.map((s) => s.child.stop()));
  }
}

const READ_BASELINE = 'bare Socket.IO + a first-visit read (page and unread count, one statement per connection)';

export async function connectionsScenario(env: Env): Promise<ScenarioResult> {
  const plan = connectionsPlan(env.sizes.connections, env.sizes.connectionWorkers);
  const n = plan.n;
  const addressCount = Math.max(2, Math.ceil(n / PER_ADDRESS));
  env.log(
    `  ${n.toLocaleString('en-US')} connections per side on ${plan.instances} instance(s), from ${plan.workers} processes and ` +
      `${addressCount} source addresses, ${env.sizes.connectionRounds} round(s)`,
  );
  const runs: Record<Side, FleetResult[]> = { library: [], bare: [], read: [] };
  let fleetNo = 0;
  const sides: Side[] = ['library', 'bare', 'read'];
  for (let round = 0; round < env.sizes.connectionRounds; round++) {
    for (const side of inTurn(round, sides)) runs[side].push(await fleet(env, side, plan, fleetNo++));
  }
  const summary = (rs: FleetResult[]) => ({
    connected: Math.min(...rs.map((r) => r.connected)),
    connectMs: median(rs.map((r) => r.connectMs)),
    connectCpuUs: median(rs.map((r) => r.connectCpuUs)),
    idleServer: median(rs.map((r) => r.idle.server)),
    idleClients: median(rs.map((r) => r.idle.clients)),
    rss: median(rs.map((r) => r.perConn.rss)) / 1024,
    heap: median(rs.map((r) => r.perConn.heap)) / 1024,
    broadcast: median(rs.flatMap((r) => r.broadcastMs)),
    clientRss: median(rs.map((r) => r.clientRss)) / 1024,
    errors: rs.map((r) => r.errors),
  });
  const lib = summary(runs.library);
  const bare = summary(runs.bare);
  const read = summary(runs.read);
  const scenario = `8. Connections, ${n.toLocaleString('en-US')} idle`;
  const row = (metric: string, unit: string, l: number, b: number, target?: number): Row => ({
    scenario,
    metric,
    unit,
    library: l,
    baseline: b,
    baselineName: 'bare Socket.IO',
    better: 'lower',
    ...(target ? { target: { text: `≤ ${target}× bare`, met: l <= target * b, limit: target * b } } : {}),
  });
  const rows: Row[] = [
    {
      scenario,
      metric: 'connections held',
      unit: '',
      library: lib.connected,
      baseline: bare.connected,
      baselineName: 'bare Socket.IO',
      better: 'higher',
      target: { text: `all ${n.toLocaleString('en-US')}`, met: lib.connected >= n, limit: n },
    },
    row('RSS per connection', 'KiB', lib.rss, bare.rss, 1.2),
    row('heap per connection', 'KiB', lib.heap, bare.heap, 1.2),
    row('time to connect all', 's', lib.connectMs / 1000, bare.connectMs / 1000, 1.5),
    row('server CPU per connection, while connecting', 'µs', lib.connectCpuUs, bare.connectCpuUs),
    row(
      `median time until a broadcast reaches all (${runs.library.flatMap((r) => r.broadcastMs).length} runs)`,
      'ms',
      lib.broadcast,
      bare.broadcast,
    ),
    // Against a server that does the one database read a first visit needs (the newest page and
    // the unread count, one statement per connection): what any persisted inbox pays to connect.
    { ...row('time to connect all', 's', lib.connectMs / 1000, read.connectMs / 1000), baselineName: READ_BASELINE },
    { ...row('server CPU per connection, while connecting', 'µs', lib.connectCpuUs, read.connectCpuUs), baselineName: READ_BASELINE },
    {
      ...row('first-visit read ÷ bare, time to connect all', 's', read.connectMs / 1000, bare.connectMs / 1000),
      baselineName: 'bare Socket.IO (library column: bare + first-visit read)',
    },
  ];
  const notes = [
    `Scenario 8: ${n.toLocaleString('en-US')} connections per side on ${plan.instances} server instance(s), opened by ${plan.workers} ` +
      `load-generator processes (bare \`ws\` sockets speaking Socket.IO's protocol, ${IN_FLIGHT} handshakes in flight each, about ` +
      `${Math.round(lib.clientRss)} KiB of their RSS per connection) from ${addressCount} loopback source addresses; one side at a ` +
      `time, ${env.sizes.connectionRounds} round(s). Memory per connection is the servers' growth (after a full GC) divided by ` +
      `the connections; the time to connect runs from the first handshake to the last \`notifications:synced\`.`,
  ];
  const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
  notes.push(
    `Scenario 8, holding them idle (Engine.IO pings every connection every 25 s): the server(s) used ${pct(lib.idleServer)} ` +
      `of a core for the library, ${pct(bare.idleServer)} for bare; the load generator ${pct(lib.idleClients)} and ${pct(bare.idleClients)}.`,
  );
  if (plan.why) notes.push(`Scenario 8: ${plan.why}.`);
  for (const [side, s] of [
    ['library', lib],
    ['bare', bare],
    ['first-visit read', read],
  ] as const) {
    const failed = s.errors.filter((e) => Object.keys(e).length > 0);
    if (failed.length) notes.push(`Scenario 8, ${side}: connections that failed: ${failed.map((e) => JSON.stringify(e)).join('; ')}.`);
  }
  const first = (t: Target) => runs[t][0];
  const svg = panelsSvg(`${n.toLocaleString('en-US')} idle connections: nestjs-inbox vs bare Socket.IO`, [
    {
      title: 'connections up (notifications:synced)',
      xLabel: 'seconds since the first handshake',
      yLabel: 'connections',
      series: { library: first('library').curve, 'bare Socket.IO': first('bare').curve },
    },
    {
      title: 'server RSS while they connect',
      xLabel: 'connections on the server',
      yLabel: 'RSS (MiB)',
      series: { library: first('library').rssCurve, 'bare Socket.IO': first('bare').rssCurve },
    },
  ]);
  return { rows, notes, charts: [{ file: 'connections.svg', alt: 'scenario 8: connect curve and server RSS, library vs bare', svg }] };
}
