/**
 * `npm run bench:scale:groups`: what grouping (issue 23, docs/groups.md) costs at scale. A fresh
 * database with `GROUPS_ROWS` direct rows of 150,000 other users (default 3,000,000) and one user
 * with 10,000 grouped notifications in 500 groups (runs of 20: the newest of each the item, the
 * other 9,500 superseded) plus 1,000 ungrouped ones; then EXPLAIN ANALYZE, with generic plans as
 * the library's prepared statements run them, of: grouping one notification (inbox_notify, its
 * nested statements through auto_explain), the newest page, the badge, a group's detail page and
 * a read of an item. Writes bench/scale/explain-groups.txt; every plan must be index lookups that
 * never walk the superseded rows. Postgres: BENCH_DATABASE_URL (a superuser, for auto_explain).
 *
 * The grouped rows are seeded as inbox_group leaves them (group_run the run's first id,
 * group_count its position in the run, replaces the row before, superseded all but the newest).
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { INBOX } from 'nestjs-inbox/persistence/inbox-model';
import { badgesSql } from 'nestjs-inbox/persistence/sql/counts.sql';
import { markSql } from 'nestjs-inbox/persistence/sql/marks.sql';
import { noValues, params } from 'nestjs-inbox/persistence/sql/params';
import { pageSql } from 'nestjs-inbox/persistence/sql/views.sql';
import { Client } from 'pg';
import { databaseUrl, migrate, PG_ADMIN_URL } from '../lib/database';

// Underscores allowed, as bench:scale's sizes (GROUPS_ROWS=10_000_000).
const ROWS = Number((process.env.GROUPS_ROWS ?? '3000000').replace(/_/g, ''));
if (!Number.isSafeInteger(ROWS) || ROWS < 0) throw new Error(`GROUPS_ROWS: a number of rows, not ${process.env.GROUPS_ROWS}`);
const OUT = join(__dirname, 'explain-groups.txt');

const SEED = [
  `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon)
   SELECT 'other-' || (i % 150000), 'comment', 'x', txid_current(), txid_current() FROM generate_series(1, ${ROWS}) i`,
  `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, group_key, superseded)
   SELECT 'target', 'comment', 'comment ' || i, txid_current(), txid_current(), 'post:' || (i % 500), i <= 9500
     FROM generate_series(1, 10000) i`,
  `UPDATE inbox_notification n SET group_run = r.first, group_count = r.cnt, replaces = r.prev,
          group_actors = jsonb_build_array(jsonb_build_object('id', 'a' || r.cnt))
     FROM (SELECT id, min(id) OVER w AS first, row_number() OVER w AS cnt, lag(id) OVER w AS prev
             FROM inbox_notification WHERE user_id = 'target' AND group_key IS NOT NULL
           WINDOW w AS (PARTITION BY group_key ORDER BY id)) r
    WHERE n.id = r.id`,
  `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon)
   SELECT 'target', 'plain', 'plain ' || i, txid_current(), txid_current() FROM generate_series(1, 1000) i`,
  `VACUUM ANALYZE inbox_notification`,
];

async function main(): Promise<void> {
  const name = `inbox_groups_bench_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const out: string[] = [`# bench:scale:groups — ${new Date().toISOString()}, ${ROWS} other rows`];
  const c = new Client({ connectionString: url });
  try {
    await migrate(url);
    await c.connect();
    for (const statement of SEED) await c.query(statement);
    const [{ item }] = (
      await c.query(`SELECT max(id)::text AS item FROM inbox_notification WHERE user_id = 'target' AND group_key = 'post:7'`)
    ).rows;
    const detail = params(3);
    const detailSql = pageSql('$1', '$2', '$3', { state: 'inbox', group: 'post:7' }, detail.param);
    await c.query(`SET plan_cache_mode = force_generic_plan`);
    const explain = async (label: string, text: string, values: unknown[]) => {
      const { rows } = await c.query(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${text}`, values);
      out.push(`\n## ${label}\n`, ...rows.map((r: Record<string, string>) => r['QUERY PLAN']));
    };
    // Through PREPARE: a generic plan, as the library's named statements get.
    const prepared = async (label: string, text: string, types: string, values: string) => {
      await c.query(`PREPARE p_${label.replace(/\W/g, '_')}(${types}) AS ${text}`);
      await explain(label, `EXECUTE p_${label.replace(/\W/g, '_')}(${values})`, []);
    };
    await prepared('list: the newest page (20)', pageSql('$1', '$2', '$3', INBOX, noValues), 'varchar, varchar, int', `'target', '', 20`);
    await prepared('badge', badgesSql(), 'varchar[], varchar[]', `ARRAY['target'], ARRAY['']`);
    await prepared(
      'detail: a group page (20)',
      detailSql,
      'varchar, varchar, int, varchar, varchar',
      `'target', '', 20, 'post:7', 'post:7'`,
    );
    await c.query('BEGIN');
    await prepared(
      'markRead of an item (its run of 20)',
      markSql('read'),
      'varchar, varchar, bigint[]',
      `'target', '', ARRAY[${item}]::bigint[]`,
    );
    await c.query('ROLLBACK');
    // Grouping: the function's nested statements, each with its plan (auto_explain, as LOG messages).
    const logs: string[] = [];
    c.on('notice', (m) => logs.push(m.message ?? ''));
    await c.query(`LOAD 'auto_explain'`);
    for (const set of ['log_min_duration = 0', 'log_analyze = on', 'log_nested_statements = on', 'log_format = text']) {
      await c.query(`SET auto_explain.${set}`);
    }
    await c.query(`SET client_min_messages = log`);
    await c.query('BEGIN');
    await c.query(`SELECT inbox_notify(ARRAY['target'], '{"type":"comment","actor":{"id":"z"},"group":"post:7"}'::jsonb)`);
    await c.query('ROLLBACK');
    await c.query(`SET client_min_messages = notice`);
    await c.query(`SET auto_explain.log_min_duration = -1`);
    out.push(`\n## grouping one notification: inbox_notify's nested statements (auto_explain)\n`, ...logs);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      await c.query('BEGIN');
      const start = process.hrtime.bigint();
      await c.query(`SELECT inbox_notify(ARRAY['target'], $1::jsonb)`, [JSON.stringify({ type: 'comment', group: `post:${i}` })]);
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
      await c.query('ROLLBACK');
    }
    times.sort((a, b) => a - b);
    out.push(`\n## grouping one notification: inbox_notify, 20 runs: median ${times[10].toFixed(2)} ms, max ${times[19].toFixed(2)} ms`);
    writeFileSync(OUT, out.join('\n') + '\n');
    console.log(`wrote ${OUT}`);
  } finally {
    await c.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
