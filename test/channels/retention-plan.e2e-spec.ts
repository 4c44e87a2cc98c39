import { Client } from 'pg';
import { PRUNE_CHANNELS_SQL } from '../../libs/nestjs-inbox/src/persistence/repositories/retention.repository';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';
import { explain, nodesOf, pagesOf } from '../support/plan';

/** Decided sends younger than the cutoff: what the job keeps, run after run. */
const KEPT = 50_000;
/** Decided sends older than the cutoff: fewer than a batch, as in a run's last batch. */
const OLD = 5;
const DAYS = 30;
const BATCH = 1000;

// Every run of the retention job ends with a batch that finds fewer old records than the batch
// size (the loop stops at a batch that deletes none). The job runs it in its transaction, unnamed:
// a plan for the values each time (as here). The decided sends' walk must stop at the cutoff.
describe("retention of the channels' records: the batch's plan", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(`INSERT INTO inbox_notification (id, user_id, type, tx_id, tx_horizon) VALUES (1, 'u', 'note', 1, 1)`);
    // The sends are of one notification (their key is (notification, user, channel)): many users.
    await c.query(
      `INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at, status, updated_at)
       SELECT 1, 'u' || g, 'email', '', 'read', now(), (ARRAY['sent', 'skipped', 'failed', 'cancelled'])[1 + g % 4],
              CASE WHEN g <= ${OLD} THEN now() - interval '${DAYS + 10} days' ELSE now() - (g % 20) * interval '1 day' END
         FROM generate_series(1, ${OLD + KEPT}) g`,
    );
    await c.query(`INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at, status, updated_at)
                   VALUES (1, 'old-pending', 'email', '', 'read', now(), 'pending', now() - interval '${DAYS + 10} days')`);
    await c.query('ANALYZE inbox_channel_send');
    await c.query(`SET plan_cache_mode = force_custom_plan`);
    await c.query(`PREPARE prune(int, int) AS ${PRUNE_CHANNELS_SQL}`);
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  it('reads the decided sends up to the cutoff, not every one kept (the scale rule)', async () => {
    await c.query('BEGIN');
    try {
      const plan = await explain(c, `EXECUTE prune(${DAYS}, ${BATCH})`);
      const walks = nodesOf(plan).filter((n) => n['Index Name'] === 'inbox_channel_send_decided_idx');
      expect(walks).toHaveLength(1);
      // With the cutoff joined from a CTE, a filter: every entry of the index and its row (11,414 buffers here).
      expect(pagesOf(walks[0])).toBeLessThan(10);
    } finally {
      await c.query('ROLLBACK');
    }
  });

  it('deletes the decided sends older than the cutoff, and only them', async () => {
    const { rows } = await c.query<{ n: string }>(`EXECUTE prune(${DAYS}, ${BATCH})`);
    expect(Number(rows[0].n)).toBe(OLD);
    const left = await c.query<{ n: number; old: number }>(
      `SELECT count(*)::int AS n, count(*) FILTER (WHERE updated_at < now() - interval '${DAYS} days')::int AS old FROM inbox_channel_send`,
    );
    expect(left.rows[0]).toEqual({ n: KEPT + 1, old: 1 });
  });
});
