import { Pool } from 'pg';
import { now } from '../lib/clock';
import { type Env, EventLoops, inTurn, startSides, stopSides, type Target } from '../lib/harness';
import { paced } from '../servers/load';
import { type Row, type ScenarioResult } from '../lib/result';
import { summarize } from '../lib/stats';

/**
 * 1. Latency, one instance: `notify` (stored, committed, emitted) to receipt in a client, with
 * `latencyClients` connected, at a steady rate; baseline: bare Socket.IO emitting the same
 * payload to the same user rooms. 6. The same through Redis with two instances: clients split
 * between A and B, all sends from A, so half the deliveries cross Redis. Both sides are up
 * together and take turns, `ROUNDS` rounds each.
 */
const ROUNDS = 4;

export async function measureLatency(env: Env, instances: 1 | 2, floor?: (count: number) => Promise<number[]>) {
  const { latencyClients, latencyCount, latencyRate } = env.sizes;
  const sides = await startSides(env, `lat${instances}`, latencyClients, instances);
  try {
    const redisAdapter = sides[0].servers[0].redisAdapter;
    env.log(
      `  ${latencyClients} clients per side${instances === 2 ? ` on 2 instances (library's redis adapter: ${redisAdapter})` : ''}; ` +
        `${ROUNDS} rounds of ${Math.ceil(latencyCount / ROUNDS)} at ${latencyRate}/s per side` +
        (floor ? ', and of plain one-row INSERTs at the same rate' : ''),
    );
    const latencies: Record<Target, number[]> = { library: [], bare: [] };
    const floorSamples: number[] = [];
    const loops = new EventLoops();
    for (let round = 0; round < ROUNDS; round++) {
      // The floor takes its turn in every round too, under the same conditions.
      if (floor) floorSamples.push(...(await floor(Math.ceil(latencyCount / ROUNDS / 2))));
      for (const side of inTurn(round, sides)) {
        const count = Math.ceil(latencyCount / ROUNDS);
        await side.clients.reset();
        await loops.start(side);
        await side.servers[0].child.call('latency', { users: side.users, count, rate: latencyRate });
        const got = await side.clients.collect(count, 30_000);
        if (got.received < count) throw new Error(`${side.target}: ${got.received} of ${count} notifications arrived`);
        latencies[side.target].push(...got.latencies);
        await loops.add(side);
      }
    }
    return { latencies, floorSamples, redisAdapter, loops };
  } finally {
    await stopSides(sides);
  }
}

/**
 * The p99 target, given the INSERT floor's p99: the floor plus the bare p99 (bare Socket.IO, or
 * bare Socket.IO through Redis for two instances), with 20% slack; without a floor, 2× bare p99 + 2 ms.
 */
export function latencyRows(scenario: string, lib: number[], bare: number[], baselineName: string, insertP99?: number): Row[] {
  const l = summarize(lib);
  const b = summarize(bare);
  const row = (metric: 'p50' | 'p90' | 'p99' | 'max', target?: Row['target']): Row => ({
    scenario,
    metric: `${metric} latency`,
    unit: 'ms',
    library: l[metric],
    baseline: b[metric],
    baselineName,
    better: 'lower',
    target,
  });
  // Persist first puts a commit before every emit: one instance may take the plain INSERT +
  // commit p99 plus the bare emit p99, with 20% slack.
  const limit = insertP99 === undefined ? 2 * b.p99 + 2 : 1.2 * (insertP99 + b.p99);
  const text =
    insertP99 === undefined ? `≤ 2× bare p99 + 2 ms (${limit.toFixed(1)} ms)` : `≤ 1.2× (INSERT p99 + bare p99) (${limit.toFixed(1)} ms)`;
  return [row('p50'), row('p90'), row('p99', { text, met: l.p99 <= limit, limit }), row('max')];
}

/**
 * The floor under any persist-first design: one-row INSERTs into a plain table like ours, at
 * the same rate, each timed from send to commit acknowledged (a round trip and a WAL flush).
 */
async function insertLatencies(env: Env, count: number): Promise<number[]> {
  const pool = new Pool({ connectionString: env.databaseUrl, max: 4 });
  const times: number[] = [];
  try {
    await pool.query('SELECT 1');
    await paced(['u'], count, env.sizes.latencyRate, async (user, seq) => {
      const t0 = now();
      await pool.query(
        `INSERT INTO bench_plain_notification (user_id, type, title, data, tx_id, tx_horizon)
         VALUES ($1, 'comment', 'New comment on your post', $2, 0, 0)`,
        [`${user}${seq}`, { seq }],
      );
      times.push(now() - t0);
    });
    return times;
  } finally {
    await pool.end();
  }
}

export async function latencyOneInstance(env: Env): Promise<ScenarioResult> {
  const {
    latencies: { library: lib, bare },
    floorSamples,
    loops,
  } = await measureLatency(env, 1, (count) => insertLatencies(env, count));
  const inserts = summarize(floorSamples);
  const scenario = `1. Latency, ${env.sizes.latencyClients} clients`;
  const eventLoop = loops.rows(scenario, 'bare Socket.IO room emit');
  const floor = (metric: 'p50' | 'p99'): Row => ({
    scenario,
    metric: `${metric} latency`,
    unit: 'ms',
    library: summarize(lib)[metric],
    baseline: inserts[metric],
    baselineName: 'one-row INSERT + commit round trip (no delivery)',
    better: 'lower',
  });
  return {
    notes: [eventLoop.note],
    rows: [...latencyRows(scenario, lib, bare, 'bare Socket.IO room emit', inserts.p99), floor('p50'), floor('p99'), ...eventLoop.rows],
    samples: { 'library, 1 instance': lib, 'bare Socket.IO, 1 instance': bare },
  };
}

export async function latencyTwoInstances(env: Env): Promise<ScenarioResult> {
  const {
    latencies: { library: lib, bare },
    redisAdapter,
    floorSamples,
    loops,
  } = await measureLatency(env, 2, (count) => insertLatencies(env, count));
  const inserts = summarize(floorSamples);
  const scenario = `6. Two instances via Redis`;
  const eventLoop = loops.rows(scenario, 'bare Socket.IO + Redis adapter');
  const floor = (metric: 'p50' | 'p99'): Row => ({
    scenario,
    metric: `${metric} latency`,
    unit: 'ms',
    library: summarize(lib)[metric],
    baseline: inserts[metric],
    baselineName: 'one-row INSERT + commit round trip (no delivery)',
    better: 'lower',
  });
  return {
    notes: [
      eventLoop.note,
      redisAdapter === 'library'
        ? 'Scenario 6: the Redis adapter was wired by the library (`redis: { url }` option).'
        : 'Scenario 6: this build of the library does not wire its `redis` option yet, so the bench ' +
          "harness installed `@socket.io/redis-adapter` on the library's namespace itself (same " +
          'adapter, same settings as the baseline). Re-run once the option is implemented.',
    ],
    rows: [
      ...latencyRows(scenario, lib, bare, 'bare Socket.IO + Redis adapter', inserts.p99),
      floor('p50'),
      floor('p99'),
      ...eventLoop.rows,
    ],
    samples: { 'library, 2 instances + Redis': lib, 'bare Socket.IO, 2 instances + Redis': bare },
  };
}
