import { Pool } from 'pg';
import { Clients, type Env, startServer, users } from '../lib/harness';
import { type ScenarioResult } from '../lib/result';
import { summarize } from '../lib/stats';
import { BODY, burst, data, paced, TITLE } from '../servers/load';

/**
 * 7. A producer in another language: a backend that commits `SELECT inbox_notify(...)` (its own
 * transaction per call, from this process: another program as far as the server knows) against
 * the library's own `notify` in the server process, on one library server with
 * `latencyClients` connected. Latency: from the call to receipt in a client, paced as in 1.
 * Throughput: `throughputCount` calls from `throughputConcurrency` callers in closed loops (the
 * SQL side over as many connections, at most 20), per second until every one was delivered.
 * The two take turns, `ROUNDS` rounds each.
 */
const ROUNDS = 4;

export async function sqlProducerScenario(env: Env): Promise<ScenarioResult> {
  const { latencyClients, latencyCount, latencyRate, throughputCount, throughputConcurrency } = env.sizes;
  const server = await startServer(env, 'library');
  const clients = Clients.start(env);
  // Named so that a CPU sampler can tell the producers' backends from the server's (pg_stat_activity).
  const pool = new Pool({
    connectionString: env.databaseUrl,
    max: Math.min(20, throughputConcurrency),
    application_name: 'bench sql producer',
  });
  const sqlNotify = (user: string, seq: number) =>
    pool.query(`SELECT inbox_notify(ARRAY[$1::text], $2::jsonb)`, [
      user,
      JSON.stringify({ type: 'comment', title: TITLE, body: BODY, data: data(seq) }),
    ]);
  try {
    const who = users('sql-', latencyClients);
    await clients.connect([server.url], who);
    // Every connection of the producer's pool opened before timing, as the server's pool is.
    const warm = await Promise.all(Array.from({ length: pool.options.max }, () => pool.connect()));
    warm.forEach((c) => c.release());
    // One unmeasured round per side: the first reads of a path open pool connections and plan
    // their statements (the SQL side's first deliveries took ~100 ms without it).
    const warmUp = Math.min(50, latencyCount);
    for (const side of ['sql', 'notify'] as const) {
      await clients.reset();
      if (side === 'sql') await paced(who, warmUp, latencyRate, sqlNotify);
      else await server.child.call('latency', { users: who, count: warmUp, rate: latencyRate });
      await clients.collect(warmUp, 30_000);
    }
    const latencies = { sql: [] as number[], notify: [] as number[] };
    const rate = { sql: { n: 0, ms: 0 }, notify: { n: 0, ms: 0 } };
    const count = Math.ceil(latencyCount / ROUNDS);
    const tpCount = Math.ceil(throughputCount / ROUNDS);
    env.log(`  ${latencyClients} clients; ${ROUNDS} rounds of ${count} at ${latencyRate}/s and of ${tpCount} in closed loops, per side`);
    for (let round = 0; round < ROUNDS; round++) {
      for (const side of round % 2 ? (['notify', 'sql'] as const) : (['sql', 'notify'] as const)) {
        await clients.reset();
        if (side === 'sql') await paced(who, count, latencyRate, sqlNotify);
        else await server.child.call('latency', { users: who, count, rate: latencyRate });
        const got = await clients.collect(count, 30_000);
        if (got.received < count) throw new Error(`${side}: ${got.received} of ${count} arrived`);
        latencies[side].push(...got.latencies);

        await clients.reset();
        const { start, end } =
          side === 'sql'
            ? await burst(who, tpCount, Math.min(20, throughputConcurrency), sqlNotify)
            : await server.child.call('throughput', { users: who, count: tpCount, concurrency: throughputConcurrency });
        const { received, lastAt } = await clients.collect(tpCount, 60_000);
        if (received < tpCount) throw new Error(`${side}: ${received} of ${tpCount} arrived`);
        rate[side].n += tpCount;
        rate[side].ms += Math.max(end, lastAt) - start;
      }
    }
    const [s, n] = [summarize(latencies.sql), summarize(latencies.notify)];
    const scenario = '7. SQL producer';
    const baselineName = 'in-process `notify`';
    const latencyRow = (metric: 'p50' | 'p99') => ({
      scenario,
      metric: `${metric} latency, commit → client`,
      unit: 'ms',
      library: s[metric],
      baseline: n[metric],
      baselineName,
      better: 'lower' as const,
    });
    return {
      rows: [
        latencyRow('p50'),
        latencyRow('p99'),
        {
          scenario,
          metric: 'stored + delivered',
          unit: 'notifications/s',
          library: rate.sql.n / (rate.sql.ms / 1000),
          baseline: rate.notify.n / (rate.notify.ms / 1000),
          baselineName,
          better: 'higher',
        },
      ],
      notes: [
        '7. The SQL side is `SELECT inbox_notify(...)`, one transaction per call, from the bench process over up to 20 ' +
          "connections (a producer in another language, as far as the server knows), delivered by the server's LISTEN and " +
          'horizon read; timed from the call, as `notify` is.',
      ],
    };
  } finally {
    await pool.end();
    await clients.stop();
    await server.child.stop();
  }
}
