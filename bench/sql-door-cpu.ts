/**
 * The SQL door's cost in Postgres: the on-CPU time (`/proc/<pid>/schedstat`, so Postgres must run
 * on this host) of one backend per call, one transaction per call, for each statement below, in
 * alternating rounds (a shared machine: compare the rounds' medians, not one number).
 *
 *   DB=postgres://…/a [DB2=postgres://…/b] [N=500] [ROUNDS=10] [PREPARED=1] [SYNC=1] \
 *     npx ts-node --transpile-only bench/sql-door-cpu.ts notify 2:notify insert select
 *
 * A statement prefixed `2:` runs on DB2 (e.g. a database migrated by another commit). The
 * session's commits do not wait for the WAL flush unless SYNC=1 (the flush is not the backend's
 * CPU, and 20 producers share it); PREPARED=1 runs each as a named prepared statement. The
 * databases need the library's migrations; rows go to inbox_notification.
 */
import { readFileSync } from 'fs';
import { Client } from 'pg';

const N = Number(process.env.N ?? 500);
const ROUNDS = Number(process.env.ROUNDS ?? 10);
const TITLE = 'New comment on your post';
const BODY = 'Alice replied: "Looks good to me, shipping it after lunch."';

/** Each takes the recipient ($1) and the notification ($2), as bench 7's producer sends them. */
const STATEMENTS: Record<string, string> = {
  notify: `SELECT inbox_notify(ARRAY[$1::text], $2::jsonb)`,
  // The row inbox_store writes for that call, by hand: the floor of any one-row-per-transaction door.
  insert: `INSERT INTO inbox_notification (user_id, scope, type, title, body, data, tags, tx_id, tx_horizon, via_sql)
           SELECT $1, '', n->>'type', n->>'title', n->>'body', n->'data', '{}', pg_current_xact_id()::text::bigint,
                  pg_snapshot_xmin(pg_current_snapshot())::text::bigint, true FROM (SELECT $2::jsonb AS n) x`,
  select: `SELECT $1::text, $2::jsonb`,
};

const cpuNs = (pid: number) => Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function session(url: string): Promise<{ client: Client; pid: number }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  if (process.env.SYNC !== '1') await client.query(`SET synchronous_commit = off`);
  // A registered listener that is not armed: calls do not NOTIFY, as under load (InboxSqlWake).
  await client.query(`INSERT INTO inbox_sql_listener (pid) VALUES (pg_backend_pid()) ON CONFLICT DO NOTHING`);
  const { rows } = await client.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
  return { client, pid: rows[0].pid };
}

async function main() {
  const names = process.argv.slice(2);
  if (!process.env.DB || names.length === 0) throw new Error('usage: DB=… [DB2=…] sql-door-cpu.ts notify 2:notify insert select');
  const one = await session(process.env.DB);
  const two = process.env.DB2 ? await session(process.env.DB2) : one;
  const perCall: Record<string, number[]> = {};
  const load = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`load average at start: ${load()}`);
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) {
      const { client, pid } = name.startsWith('2:') ? two : one;
      const text = STATEMENTS[name.replace(/^2:/, '')];
      if (!text) throw new Error(`unknown statement ${name} (${Object.keys(STATEMENTS).join(', ')})`);
      const call = (i: number) => {
        const values = [
          `u${i % 1000}`,
          JSON.stringify({ type: 'comment', title: TITLE, body: BODY, data: { seq: i, url: `/posts/42#c-${i}` } }),
        ];
        return client.query(process.env.PREPARED === '1' ? { name: name.replace(/\W/g, '_'), text, values } : { text, values });
      };
      for (let i = 0; i < 20; i++) await call(i); // plans and caches warm
      const before = cpuNs(pid);
      for (let i = 0; i < N; i++) await call(i);
      (perCall[name] ??= []).push((cpuNs(pid) - before) / 1000 / N);
    }
  }
  for (const name of names) {
    const xs = perCall[name];
    console.log(
      `${name.padEnd(10)} backend CPU per call: median ${median(xs).toFixed(0)} µs, min ${Math.min(...xs).toFixed(0)} µs (${xs.map((x) => x.toFixed(0)).join(' ')})`,
    );
  }
  console.log(`load average at end: ${load()}`);
  for (const s of new Set([one, two])) await s.client.end();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
