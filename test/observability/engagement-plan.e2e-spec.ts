import { Client } from 'pg';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';

const USERS = 1_000;
const BROADCASTS = 30;
const PUBLICATIONS = 20;

// inbox_engagement counts, per shared row of the window, the users whose seen position covers it.
// It must read the users' states (and the topic's subscriptions) once per call, not once per row.
describe("inbox_engagement: the users' positions are read once per call", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(`SET session_replication_role = replica`);
    await c.query(
      `INSERT INTO inbox_user_state (user_id, scope, broadcast_read_seq, broadcast_seen_seq)
       SELECT 'u' || g, '', g % ${BROADCASTS}, g % ${BROADCASTS + 5} FROM generate_series(1, ${USERS}) g`,
    );
    await c.query(
      `INSERT INTO inbox_subscription (user_id, topic, scope, from_seq, read_seq, seen_seq)
       SELECT 'u' || g, 'news', '', 0, g % ${PUBLICATIONS}, g % ${PUBLICATIONS + 3} FROM generate_series(1, ${USERS}) g`,
    );
    // The window's shared rows, with the positions the commit trigger would have given them.
    await c.query(
      `INSERT INTO inbox_notification (user_id, topic, type, title, tx_id, tx_horizon, seq, type_seq, created_at)
       SELECT NULL, NULL, 'note', 'b', 1000 + g, 1000 + g, g, g, now() - interval '10 minutes' FROM generate_series(1, ${BROADCASTS}) g
       UNION ALL
       SELECT NULL, 'news', 'note', 'p', 2000 + g, 2000 + g, g, g, now() - interval '10 minutes' FROM generate_series(1, ${PUBLICATIONS}) g`,
    );
    await c.query(`RESET session_replication_role`);
    await c.query('ANALYZE');
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('scans inbox_user_state and inbox_subscription a few times, not once per broadcast or publication', async () => {
    // Scans of each table so far: the backend's counts since its last report (none inside a transaction).
    const scans = async () =>
      (
        await c.query<{ states: string; subs: string }>(
          `SELECT pg_stat_get_xact_numscans('inbox_user_state'::regclass)::text AS states,
                  pg_stat_get_xact_numscans('inbox_subscription'::regclass)::text AS subs`,
        )
      ).rows[0];
    await c.query('BEGIN');
    try {
      const before = await scans();
      const { rows } = await c.query<{ kind: string; stored: string; seen: string }>(
        `SELECT kind, stored::text, seen::text FROM inbox_engagement(now() - interval '1 hour')`,
      );
      const after = await scans();
      expect(rows.map((r) => [r.kind, Number(r.stored)])).toEqual([
        ['broadcast', BROADCASTS],
        ['topic', PUBLICATIONS],
      ]);
      expect(rows.every((r) => Number(r.seen) > 0)).toBe(true);
      // Inlined into the per-row subquery, `b_seen` scanned the user states once per broadcast
      // (32 scans here). `t_seen` re-read its input, the subscriptions already copied into a CTE,
      // once per publication: no table's counter shows that one (docs/performance.md timed it).
      expect(Number(after.states) - Number(before.states)).toBeLessThan(5);
      expect(Number(after.subs) - Number(before.subs)).toBeLessThan(5);
    } finally {
      await c.query('ROLLBACK');
    }
  });
});
