/**
 * Phase 2 of the engagement bench (phase 1: seed-scale.ts): on the seeded database, runs the
 * library's pending migrations (InboxDeliveryRecord), writes what the `deliveryRecord` option and
 * the channels would have written for that history, then times `inbox_engagement` (and, side by
 * side, alternating, the version before `delivered_live`) and `inbox_channel_engagement` over
 * windows of 1, 7 and 30 days, and prints each one's plan with its buffers (auto_explain, nested
 * statements: a function's plan is not in EXPLAIN's).
 *
 *   npm run bench:engagement -- <name> [--prepare] [--rounds N]     (BENCH_WINDOWS=1,7 days, BENCH_FUNCTIONS=…)
 *
 * --prepare (once): the scoped history's ids restart the seed's timeline (bench/scale seeds it
 * after the unscoped one, over the same year), and `inbox_first_id_at` bisects on ids that grow
 * with time, as the library's own writes make them: it is deleted, leaving the 10M unscoped rows.
 * Then:
 * - inbox_delivery: a line for one direct row in 3 (1 inbox) and for every broadcast and
 *   publication (200 to 5,000 inboxes);
 * - inbox_channel_send: an e-mail for one direct row in 4 and a push for one in 8 (mostly sent
 *   1 to 10 minutes after the row, some skipped, failed, cancelled), and for one broadcast in 20
 *   an e-mail to 2,000 users: the sends as the planner and the engine leave them.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Client } from 'pg';
import { engagement } from '../../libs/nestjs-inbox/src/persistence/migrations/1764547200000-inbox-engagement';
import { SIZES } from '../scale/seed';
import { databaseUrl, migrate } from '../lib/database';
import { databaseName } from './seed-scale';

const args = process.argv.slice(2);
const name = args.find((a) => !a.startsWith('--')) ?? 'bench';
const rounds = Number(args[args.indexOf('--rounds') + 1] || 3);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

/** The unscoped history's rows: ids 1 to this (BENCH_SCALE_ROWS as in seed-scale.ts). */
const UNSCOPED_ROWS = Number(process.env.BENCH_SCALE_ROWS?.replace(/_/g, '') ?? SIZES.L.rows);

/**
 * CPU seconds the backend `pid` has used (utime + stime of /proc/<pid>/stat, in clock ticks of
 * 10 ms): on a machine shared with other work, wall-clock time says more about the load than
 * about the query. Needs the server on this machine; NaN otherwise.
 */
function backendCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}

const PREPARE = [
  `SET session_replication_role = replica`,
  `DELETE FROM inbox_notification WHERE id > ${UNSCOPED_ROWS}`,
  `RESET session_replication_role`,
  `INSERT INTO inbox_delivery (notification_id, type, kind, live)
     SELECT id, type, CASE WHEN user_id IS NOT NULL THEN 'direct' WHEN topic IS NULL THEN 'broadcast' ELSE 'topic' END,
            CASE WHEN user_id IS NULL THEN 200 + (id * 7919) % 4800 ELSE 1 END
       FROM inbox_notification WHERE user_id IS NULL OR id % 3 = 0`,
  `INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at, status, attempts, updated_at)
     SELECT n.id, n.user_id, c.channel, n.scope, 'seen', n.created_at + interval '1 minute',
            CASE WHEN n.id % 50 = 0 THEN 'skipped' WHEN n.id % 97 = 0 THEN 'failed' WHEN n.id % 11 = 0 THEN 'cancelled' ELSE 'sent' END,
            1, n.created_at + (1 + n.id % 10) * interval '1 minute'
       FROM inbox_notification n
       CROSS JOIN LATERAL (VALUES ('email', n.id % 4 = 0), ('webPush', n.id % 8 = 0)) AS c(channel, planned)
      WHERE n.user_id IS NOT NULL AND c.planned`,
  `INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at, status, attempts, updated_at)
     SELECT n.id, 'user-' || u, 'email', n.scope, 'seen', n.created_at + interval '10 minutes',
            CASE WHEN u % 3 = 0 THEN 'cancelled' ELSE 'sent' END, 1, n.created_at + interval '10 minutes' + u * interval '10 ms'
       FROM (SELECT id, scope, created_at, row_number() OVER (ORDER BY id) AS k FROM inbox_notification WHERE user_id IS NULL AND topic IS NULL) n
       CROSS JOIN generate_series(0, 1999) AS u
      WHERE n.k % 20 = 0`,
  `VACUUM (ANALYZE) inbox_notification, inbox_delivery, inbox_channel_send`,
];

/**
 * The function as InboxEngagement made it, under another name: "before", side by side; and the
 * same without JIT (as InboxDeliveryRecord runs both of its functions), to tell what
 * `delivered_live` costs from what JIT did.
 */
const BEFORE = {
  inbox_engagement_before: (s: string) => engagement(s).replace(`${s}.inbox_engagement(`, `${s}.inbox_engagement_before(`),
  inbox_engagement_before_nojit: (s: string) =>
    engagement(s)
      .replace(`${s}.inbox_engagement(`, `${s}.inbox_engagement_before_nojit(`)
      .replace('SET search_path = pg_catalog, pg_temp', 'SET search_path = pg_catalog, pg_temp SET jit = off'),
};

const WINDOWS = (process.env.BENCH_WINDOWS ?? '1,7,30').split(',').map(Number);
/** BENCH_FUNCTIONS: a comma-separated subset (default: all four). */
const FUNCTIONS = [...Object.keys(BEFORE), 'inbox_engagement', 'inbox_channel_engagement'].filter(
  (fn) => !process.env.BENCH_FUNCTIONS || process.env.BENCH_FUNCTIONS.split(',').includes(fn),
);

async function main(): Promise<void> {
  const url = databaseUrl(databaseName(name));
  await migrate(url);
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    if (args.includes('--prepare')) {
      for (const sql of PREPARE) {
        const t = Date.now();
        const r = await c.query(sql);
        console.log(`${((Date.now() - t) / 1000).toFixed(1)} s, ${r.rowCount ?? '-'} rows: ${sql.split('\n')[0].slice(0, 90)}`);
      }
    }
    const counts = await c.query(`SELECT (SELECT count(*) FROM inbox_notification) AS notifications,
        (SELECT count(*) FROM inbox_delivery) AS deliveries, (SELECT count(*) FROM inbox_channel_send) AS sends,
        (SELECT count(*) FROM inbox_user_state) AS user_states, (SELECT count(*) FROM inbox_receipt) AS receipts,
        (SELECT count(*) FROM inbox_subscription) AS subscriptions`);
    console.log('rows', counts.rows[0]);
    for (const [fn, create] of Object.entries(BEFORE)) {
      await c.query(`DROP FUNCTION IF EXISTS public.${fn}(timestamptz, timestamptz)`);
      await c.query(create('"public"'));
    }
    const [{ pid }] = (await c.query(`SELECT pg_backend_pid() AS pid`)).rows;
    // Windows ending at the timeline's end: now(), since the seed ends its year at its own now.
    const [{ end }] = (await c.query(`SELECT max(created_at) AS end FROM inbox_notification`)).rows;
    for (const days of WINDOWS) {
      const since = new Date(end.getTime() - days * 86_400_000);
      const [w] = (
        await c.query(
          `SELECT inbox_first_id_at($1) AS lo, inbox_first_id_at(now()) AS hi,
                  (SELECT count(*) FROM inbox_notification WHERE id >= inbox_first_id_at($1)) AS rows,
                  (SELECT count(*) FROM inbox_notification WHERE id >= inbox_first_id_at($1) AND user_id IS NULL) AS shared,
                  (SELECT count(*) FROM inbox_channel_send WHERE notification_id >= inbox_first_id_at($1)) AS sends`,
          [since],
        )
      ).rows;
      console.log(`\n## ${days} day(s): ids ${w.lo} to ${w.hi}, ${w.rows} rows (${w.shared} shared), ${w.sends} sends`);
      const times: Record<string, string[]> = Object.fromEntries(FUNCTIONS.map((f) => [f, []]));
      for (let r = 0; r < rounds; r++) {
        for (const fn of r % 2 ? [...FUNCTIONS].reverse() : FUNCTIONS) {
          const cpu = backendCpuMs(pid);
          const t = process.hrtime.bigint();
          await c.query(`SELECT * FROM ${fn}($1, now())`, [since]);
          const wall = Number(process.hrtime.bigint() - t) / 1e6;
          times[fn].push(`${(backendCpuMs(pid) - cpu).toFixed(0)} cpu / ${wall.toFixed(0)} wall`);
        }
      }
      for (const fn of FUNCTIONS) console.log(`${fn}: ${times[fn].join(', ')} ms (load ${load()})`);
      // One more run of each, with its plan.
      await c.query(`LOAD 'auto_explain'`);
      await c.query(`SET auto_explain.log_min_duration = 0; SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;
                     SET auto_explain.log_nested_statements = on; SET auto_explain.log_timing = on; SET client_min_messages = log`);
      const plans: string[] = [];
      const onNotice = (n: { message?: string }) => plans.push(n.message ?? '');
      c.on('notice', onNotice);
      for (const fn of ['inbox_engagement', 'inbox_channel_engagement']) {
        plans.length = 0;
        await c.query(`SELECT * FROM ${fn}($1, now())`, [since]);
        // The body's plan: the longest (not the outer Function Scan, nor the bisections' probes).
        const body = [...plans].sort((a, b) => b.length - a.length)[0];
        console.log(`\n### ${fn}, ${days} day(s)\n${body}`);
      }
      c.removeListener('notice', onNotice);
      await c.query(`SET client_min_messages = notice; SET auto_explain.log_min_duration = -1`);
    }
    const rows = (await c.query(`SELECT * FROM inbox_channel_engagement(now() - interval '7 days', now())`)).rows;
    console.log('\ninbox_channel_engagement, 7 days:', rows);
    console.log('inbox_engagement, 7 days:', (await c.query(`SELECT * FROM inbox_engagement(now() - interval '7 days', now())`)).rows);
    await flushCost(c);
  } finally {
    for (const fn of Object.keys(BEFORE))
      await c.query(`DROP FUNCTION IF EXISTS public.${fn}(timestamptz, timestamptz)`).catch(() => undefined);
    await c.end();
  }
}

/** A flush of 1,000 notifications' counts (DeliveryRepository's statement), in a transaction rolled back. */
async function flushCost(c: Client): Promise<void> {
  const [{ hi }] = (await c.query(`SELECT max(id) AS hi FROM inbox_notification`)).rows;
  const ids = Array.from({ length: 1000 }, (_, i) => String(BigInt(hi) - BigInt(i * 3)));
  for (let r = 0; r < rounds; r++) {
    await c.query('BEGIN');
    const { rows } = await c.query(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) INSERT INTO inbox_delivery AS d (notification_id, type, kind, live)
         SELECT u.id, n.type, CASE WHEN n.user_id IS NOT NULL THEN 'direct' WHEN n.topic IS NULL THEN 'broadcast' ELSE 'topic' END, u.live
           FROM unnest($1::bigint[], $2::bigint[]) AS u(id, live) JOIN inbox_notification n ON n.id = u.id
          ORDER BY u.id
         ON CONFLICT (notification_id) DO UPDATE SET live = d.live + excluded.live`,
      [ids, ids.map(() => 1)],
    );
    await c.query('ROLLBACK');
    if (r === 0) console.log(`\n### flush of 1,000 notifications\n${rows.map((x) => x['QUERY PLAN']).join('\n')}`);
    else console.log(`flush round ${r + 1}: ${rows.find((x) => /Execution Time/.test(x['QUERY PLAN']))['QUERY PLAN']} (load ${load()})`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
