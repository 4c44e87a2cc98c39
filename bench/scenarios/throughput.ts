import { Pool } from 'pg';
import { now } from '../lib/clock';
import { type Clients, type Env, EventLoops, inTurn, type Server, startSides, stopSides, type Target } from '../lib/harness';
import { type ScenarioResult } from '../lib/result';

/**
 * 2. Throughput: `throughputCount` notifications from `throughputConcurrency` concurrent callers,
 * per second until every one is stored and delivered; baselines: bare Socket.IO room emits per
 * second (same callers, one emit per event-loop turn each), the persist floor (the bare server
 * storing each row first, batched, then emitting it: what storing costs any persist-first
 * server on this machine, whose Postgres shares the cores) and multi-row INSERTs into a plain
 * table shaped like ours (rows per second: what Postgres alone takes).
 */
const ROUNDS = 3;

/** What a round runs: the library, bare Socket.IO, and bare Socket.IO storing each row first (its `throughputPersisted`). */
type Run = Target | 'persisted';

/** The three sides up together, taking turns; rates over the sum of their rounds. */
async function deliveredPerSecond(env: Env, loops: EventLoops): Promise<Record<Run, { rate: number; cpuUs: number; framesPer: number }>> {
  const { latencyClients, throughputCount, throughputConcurrency } = env.sizes;
  const sides = await startSides(env, 'tp', latencyClients);
  try {
    const count = Math.ceil(throughputCount / ROUNDS);
    env.log(`  ${ROUNDS} rounds of ${count} from ${throughputConcurrency} concurrent callers per side`);
    const zero = () => ({ ms: 0, cpuMs: 0, n: 0, other: 0 });
    const total: Record<Run, ReturnType<typeof zero>> = { library: zero(), bare: zero(), persisted: zero() };
    const [library, bare] = sides;
    const runs: { run: Run; side: typeof library; call: 'throughput' | 'throughputPersisted' }[] = [
      { run: 'library', side: library, call: 'throughput' },
      { run: 'bare', side: bare, call: 'throughput' },
      { run: 'persisted', side: bare, call: 'throughputPersisted' },
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const { run, side, call } of inTurn(round, runs)) {
        // The event-loop rows compare the library with bare Socket.IO, as in the other scenarios.
        if (run !== 'persisted') await loops.start(side);
        const { ms, cpuMs } = await throughputRound(run, side.servers[0], side.clients, side.users, count, throughputConcurrency, call);
        if (run !== 'persisted') await loops.add(side);
        const t = total[run];
        // What else reached the clients by now (the badge counts of the round; a few may follow).
        t.other += (await side.clients.collect(0)).otherEvents;
        t.ms += ms;
        t.cpuMs += cpuMs;
        t.n += count;
      }
    }
    const result = (t: typeof total.library) => ({
      rate: t.n / (t.ms / 1000),
      cpuUs: (t.cpuMs * 1000) / t.n,
      framesPer: 1 + t.other / t.n,
    });
    return { library: result(total.library), bare: result(total.bare), persisted: result(total.persisted) };
  } finally {
    await stopSides(sides);
  }
}

/**
 * One closed-loop round on one server: `count` sends from `concurrency` callers (its IPC `call`),
 * until every one reached the clients. `ms` from the first send to the last arrival or resolved
 * send; `cpuMs`, the server's CPU until the last send resolved (a little delivery may follow).
 */
export async function throughputRound(
  what: string,
  server: Server,
  clients: Clients,
  users: string[],
  count: number,
  concurrency: number,
  call: 'throughput' | 'throughputPersisted' = 'throughput',
): Promise<{ ms: number; cpuMs: number }> {
  await clients.reset();
  const { start, end, cpuMs } = await server.child.call(call, { users, count, concurrency });
  const { received, lastAt } = await clients.collect(count, 60_000);
  if (received < count) throw new Error(`${what}: ${received} of ${count} arrived`);
  return { ms: Math.max(end, lastAt) - start, cpuMs };
}

/** Rows per second of plain multi-row INSERTs (100 rows each, 4 connections in parallel). */
async function insertRowsPerSecond(env: Env): Promise<number> {
  const pool = new Pool({ connectionString: env.databaseUrl, max: 4 });
  const { throughputCount } = env.sizes;
  const BATCH = 100;
  const data = JSON.stringify({ t0: 0, seq: 0, url: '/posts/42#comment-0' });
  try {
    const start = now();
    let left = throughputCount;
    const conn = async () => {
      while (left > 0) {
        const n = Math.min(BATCH, left);
        left -= n;
        const ids = Array.from({ length: n }, (_, i) => `tp-${i}`);
        await pool.query(
          `INSERT INTO bench_plain_notification (user_id, type, title, body, data, tx_id, tx_horizon)
           SELECT u, 'comment', 'New comment on your post', 'Alice replied', $2::jsonb, 0, 0 FROM unnest($1::varchar[]) AS u`,
          [ids, data],
        );
      }
    };
    await Promise.all([conn(), conn(), conn(), conn()]);
    return throughputCount / ((now() - start) / 1000);
  } finally {
    await pool.end();
  }
}

export async function throughput(env: Env): Promise<ScenarioResult> {
  const loops = new EventLoops();
  const { library: lib, bare, persisted } = await deliveredPerSecond(env, loops);
  env.log('  plain multi-row INSERT');
  const inserts = await insertRowsPerSecond(env);
  const scenario = `2. Throughput, ${env.sizes.throughputConcurrency} callers`;
  const eventLoop = loops.rows(scenario, 'bare Socket.IO room emit');
  return {
    notes: [eventLoop.note],
    rows: [
      {
        scenario,
        metric: 'stored + delivered',
        unit: 'notifications/s',
        library: lib.rate,
        baseline: bare.rate,
        baselineName: 'bare Socket.IO room emits/s',
        better: 'higher',
        target: { text: '≥ 0.7× bare', met: lib.rate >= 0.7 * bare.rate, limit: 0.7 * bare.rate },
      },
      {
        scenario,
        metric: 'server CPU per notification',
        unit: 'µs',
        library: lib.cpuUs,
        baseline: bare.cpuUs,
        baselineName: 'bare Socket.IO room emit',
        better: 'lower',
        target: { text: '≤ 1.5× bare', met: lib.cpuUs <= 1.5 * bare.cpuUs, limit: 1.5 * bare.cpuUs },
      },
      {
        scenario,
        metric: 'events sent to clients per notification',
        unit: '',
        library: lib.framesPer,
        baseline: bare.framesPer,
        baselineName: 'bare Socket.IO room emit',
        better: 'lower',
      },
      {
        scenario,
        metric: 'stored + delivered',
        unit: 'notifications/s',
        library: lib.rate,
        baseline: persisted.rate,
        baselineName: 'bare Socket.IO emitting after a multi-row INSERT (the persist floor)',
        better: 'higher',
      },
      {
        scenario,
        metric: 'server CPU per notification',
        unit: 'µs',
        library: lib.cpuUs,
        baseline: persisted.cpuUs,
        baselineName: 'bare Socket.IO emitting after a multi-row INSERT (the persist floor)',
        better: 'lower',
      },
      {
        scenario,
        metric: 'persist floor ÷ bare, notifications/s',
        unit: 'notifications/s',
        library: persisted.rate,
        baseline: bare.rate,
        baselineName: 'bare Socket.IO room emits/s (library column: the persist floor)',
        better: 'higher',
      },
      {
        scenario,
        metric: 'stored + delivered',
        unit: 'notifications/s',
        library: lib.rate,
        baseline: inserts,
        baselineName: 'multi-row INSERT rows/s (100/stmt, 4 conns)',
        better: 'higher',
      },
      ...eventLoop.rows,
    ],
  };
}
