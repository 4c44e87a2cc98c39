import { Client } from 'pg';
import { PRUNE_SQL } from '../../libs/nestjs-inbox/src/persistence/repositories/retention.repository';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';
import { explain, nodesOf, pagesOf } from '../support/plan';

/** Expired broadcasts earlier runs emptied: they keep their positions until `days` passes them. */
const EMPTIED = 20_000;
/** Direct rows expiring later: not the job's yet. */
const LATER = 5_000;
const DAYS = 30;
const BATCH = 1000;

const EXPIRY_INDEXES = ['inbox_notification_expires_idx', 'inbox_notification_expiring_idx'];

// Every batch of the retention job looks for expired rows: direct ones to delete, shared ones to
// empty. The emptied shared rows stay (their positions keep the streams gapless) and pile up; a
// batch must read its own work, not every row emptied before. The job runs the statement in its
// transaction, unnamed (a plan for the values, as here); the generic plan is checked too.
describe("retention of expired rows: the batch's plan", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    await c.connect();
    // The history as the trigger and earlier runs left it: positions 1..N, the content emptied.
    await c.query(`SET session_replication_role = replica`);
    await c.query(
      `INSERT INTO inbox_notification (type, tx_id, tx_horizon, seq, type_seq, expires_at)
       SELECT 'news', 1000 + g, 1000 + g, g, g, now() - interval '1 hour' FROM generate_series(1, ${EMPTIED}) g`,
    );
    await c.query(`INSERT INTO inbox_stream (stream, scope, seq) VALUES ('', '', ${EMPTIED + 1})`);
    await c.query(
      `INSERT INTO inbox_notification (type, title, tx_id, tx_horizon, seq, type_seq, expires_at)
       VALUES ('news', 'expired with content', 50000, 50000, ${EMPTIED + 1}, ${EMPTIED + 1}, now() - interval '1 minute')`,
    );
    await c.query(`RESET session_replication_role`);
    await c.query(
      `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, expires_at)
       SELECT 'u' || g, 'note', 'later', 60000 + g, 60000 + g, now() + interval '1 day' FROM generate_series(1, ${LATER}) g`,
    );
    await c.query(`INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, expires_at)
                   VALUES ('u1', 'note', 'expired', 70000, 70000, now() - interval '1 minute')`);
    await c.query('VACUUM ANALYZE inbox_notification');
    await c.query(`PREPARE prune(int, int) AS ${PRUNE_SQL}`);
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  for (const mode of ['force_custom_plan', 'force_generic_plan']) {
    it(`reads the expired rows still to prune, not those emptied before (${mode}; the scale rule)`, async () => {
      await c.query(`SET plan_cache_mode = ${mode}`);
      await c.query('BEGIN');
      try {
        const plan = await explain(c, `EXECUTE prune(${DAYS}, ${BATCH})`);
        const walks = nodesOf(plan).filter((n) => EXPIRY_INDEXES.includes(n['Index Name'] ?? ''));
        // One walk for the direct rows to delete, one for the shared rows to empty.
        expect(walks.map((n) => n['Index Name'])).toEqual(['inbox_notification_expiring_idx', 'inbox_notification_expiring_idx']);
        // Through inbox_notification_expires_idx: every emptied row's entry (and its page), each batch.
        for (const walk of walks) expect(pagesOf(walk)).toBeLessThan(10);
      } finally {
        await c.query('ROLLBACK');
      }
    });
  }

  it('deletes the expired direct row and empties the expired shared one, and only them', async () => {
    await c.query(`SET plan_cache_mode = force_custom_plan`);
    const { rows } = await c.query<{ n: string }>(`EXECUTE prune(${DAYS}, ${BATCH})`);
    expect(Number(rows[0].n)).toBe(2);
    const left = await c.query<{ direct: number; shared: number; with_content: number }>(
      `SELECT count(*) FILTER (WHERE user_id IS NOT NULL)::int AS direct, count(*) FILTER (WHERE user_id IS NULL)::int AS shared,
              count(*) FILTER (WHERE title IS NOT NULL AND expires_at <= now())::int AS with_content FROM inbox_notification`,
    );
    expect(left.rows[0]).toEqual({ direct: LATER, shared: EMPTIED + 1, with_content: 0 });
    expect(Number((await c.query<{ n: string }>(`EXECUTE prune(${DAYS}, ${BATCH})`)).rows[0].n)).toBe(0);
  });

  it('empties a batch of expired shared rows at the most, the rest in the next batches', async () => {
    await c.query(`SET session_replication_role = replica`);
    await c.query(
      `INSERT INTO inbox_notification (type, title, tx_id, tx_horizon, seq, type_seq, expires_at)
       SELECT 'news', 'many expired', 80000 + g, 80000 + g, 90000 + g, 90000 + g, now() - interval '1 minute' FROM generate_series(1, 3) g`,
    );
    await c.query(`RESET session_replication_role`);
    const withContent = async () =>
      (await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_notification WHERE title = 'many expired'`)).rows[0].n;
    expect(Number((await c.query<{ n: string }>(`EXECUTE prune(${DAYS}, 2)`)).rows[0].n)).toBe(2);
    expect(await withContent()).toBe(1);
    expect(Number((await c.query<{ n: string }>(`EXECUTE prune(${DAYS}, 2)`)).rows[0].n)).toBe(1);
    expect(await withContent()).toBe(0);
  });
});
