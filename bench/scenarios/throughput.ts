import { Pool } from 'pg';
import { now } from '../lib/clock';
import { Clients, Env, startServer, Target, users } from '../lib/harness';
import { ScenarioResult } from '../lib/result';

/**
 * 2. Throughput: `throughputCount` notifications from `throughputConcurrency` concurrent callers,
 * per second until every one is stored and delivered; baselines: bare Socket.IO room emits per
 * second (same callers, one emit per event-loop turn each) and multi-row INSERTs into a plain
 * table shaped like ours (rows per second: what Postgres alone takes).
 */
async function deliveredPerSecond(env: Env, target: Target): Promise<{ rate: number; cpuUs: number }> {
  const { latencyClients, throughputCount, throughputConcurrency } = env.sizes;
  const server = await startServer(env, target);
  const clients = Clients.start(env);
  try {
    const who = users('tp-', latencyClients);
    await clients.connect([server.url], who);
    await clients.reset();
    env.log(`  ${target}: ${throughputCount} from ${throughputConcurrency} concurrent callers`);
    const { start, end, cpuMs } = await server.child.call('throughput', {
      users: who,
      count: throughputCount,
      concurrency: throughputConcurrency,
    });
    const { received, lastAt } = await clients.collect(throughputCount, 60_000);
    if (received < throughputCount) throw new Error(`${target}: ${received} of ${throughputCount} arrived`);
    // The server's CPU until the last send resolved; a little delivery may still follow.
    return { rate: throughputCount / ((Math.max(end, lastAt) - start) / 1000), cpuUs: (cpuMs * 1000) / throughputCount };
  } finally {
    await clients.stop();
    await server.child.stop();
  }
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
  const lib = await deliveredPerSecond(env, 'library');
  const bare = await deliveredPerSecond(env, 'bare');
  env.log('  plain multi-row INSERT');
  const inserts = await insertRowsPerSecond(env);
  const scenario = `2. Throughput, ${env.sizes.throughputConcurrency} callers`;
  return {
    rows: [
      {
        scenario,
        metric: 'stored + delivered',
        unit: 'notifications/s',
        library: lib.rate,
        baseline: bare.rate,
        baselineName: 'bare Socket.IO room emits/s',
        better: 'higher',
        target: { text: '≥ 0.5× bare', met: lib.rate >= 0.5 * bare.rate },
      },
      {
        scenario,
        metric: 'server CPU per notification',
        unit: 'µs',
        library: lib.cpuUs,
        baseline: bare.cpuUs,
        baselineName: 'bare Socket.IO room emit',
        better: 'lower',
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
    ],
  };
}
