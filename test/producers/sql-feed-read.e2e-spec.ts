import { Client } from 'pg';
import { SQL_BATCH, SQL_COMMITTED_SINCE } from '../../libs/nestjs-inbox/src/persistence/sql/sql-feed.sql';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';
import { explain, nodesOf, pagesOf } from '../support/plan';

/** Rows the table holds before each case: the SQL functions' history, already delivered. */
const OLD_ROWS = 50_000;
/** Beyond every old row's transaction id: the first transaction the reader's snapshot did not see. */
const XMAX = 1_000_000_000;

interface FeedRow {
  id: string | null;
  title: string | null;
  xmax: string;
}

// The SQL door's listener reads, on every wake-up, the via_sql rows that committed since its last
// snapshot (SqlFeedRepository.sqlCommittedSince), as a named prepared statement (here too): after
// five runs Postgres may keep a generic plan (forced here), which does not know how few rows `tx_id >= $1` keeps.
describe('the read of the rows the SQL functions committed', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;

  const store = (title: string, txId: number) =>
    c.query(
      `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, via_sql) VALUES ('u1', 'note', $1, $2, $2, true) RETURNING id::text`,
      [title, txId],
    );
  const read = async (xip: number[], exclude: string[] = []) =>
    (await c.query<FeedRow>({ name: 'feed-read', text: SQL_COMMITTED_SINCE, values: [XMAX, xip, exclude] })).rows.filter(
      (r) => r.id !== null,
    );

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(
      `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, via_sql)
       SELECT 'u' || (g % 500), 'note', 'old', 1000 + g / 4, 1000 + g / 4, true FROM generate_series(1, ${OLD_ROWS}) g`,
    );
    await c.query('ANALYZE inbox_notification');
    await c.query(`SET plan_cache_mode = force_generic_plan`);
    await c.query(`PREPARE feed(bigint, bigint[], bigint[]) AS ${SQL_COMMITTED_SINCE}`);
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  beforeEach(() => c.query(`DELETE FROM inbox_notification WHERE title <> 'old'`));

  it('reads a few index pages, not the table, with the generic plan (the scale rule)', async () => {
    await store('new', XMAX + 1);
    const plan = await explain(c, `EXECUTE feed(${XMAX}, '{}', '{}')`);
    // Walking the primary key in id order from the oldest row read every page of the table
    // (about 500 here, 48,000 at 3M rows); the via_sql index's range holds one row.
    expect(nodesOf(plan).flatMap((n) => n['Index Name'] ?? [])).toEqual([
      'inbox_notification_via_sql_idx',
      'inbox_notification_via_sql_idx',
    ]);
    expect(pagesOf(plan)).toBeLessThan(30);
  });

  it('returns the rows of new transactions and of those running at the snapshot, nothing older', async () => {
    await store('new', XMAX);
    await store('was running', 500_000);
    await store('seen before', 500_001);
    expect((await read([500_000])).map((r) => r.title).sort()).toEqual(['new', 'was running']);
    expect((await read([])).map((r) => r.title)).toEqual(['new']);
  });

  it('leaves out the ids already delivered, and returns a batch at most, in id order', async () => {
    const ids: string[] = [];
    for (let i = 0; i < SQL_BATCH + 5; i++) ids.push((await store(`n${i}`, XMAX + (i % 7))).rows[0].id!);
    const first = await read([]);
    expect(first).toHaveLength(SQL_BATCH);
    const firstIds = first.map((r) => r.id!);
    expect(firstIds).toEqual([...firstIds].sort((a, b) => Number(a) - Number(b)));
    const rest = await read([], firstIds);
    expect(rest).toHaveLength(5);
    expect(new Set([...firstIds, ...rest.map((r) => r.id!)])).toEqual(new Set(ids));
  });

  it('looks the ids already delivered up in a hash, not each row against every id (a backlog of many batches)', async () => {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, via_sql)
       SELECT 'u1', 'note', 'backlog', ${XMAX} + g / 10, ${XMAX} + g / 10, true FROM generate_series(1, 3 * ${SQL_BATCH}) g RETURNING id::text`,
    );
    const delivered = rows.slice(0, 2 * SQL_BATCH).map((r) => r.id);
    const plan = await explain(c, `EXECUTE feed(${XMAX}, '{}', '{${delivered.join(',')}}')`);
    // `<> ALL($3)` under a generic plan: a filter comparing each row with the 2,000 ids in turn.
    expect(nodesOf(plan).some((n) => n.Filter?.includes('hashed SubPlan'))).toBe(true);
    expect(await read([], delivered)).toHaveLength(SQL_BATCH);
  });

  it('returns the current snapshot for the next read, with no row when none committed', async () => {
    const { rows } = await c.query<FeedRow>({ name: 'feed-read', text: SQL_COMMITTED_SINCE, values: [XMAX, [], []] });
    expect(rows).toHaveLength(1);
    expect(rows[0].id).toBeNull();
    expect(Number(rows[0].xmax)).toBeGreaterThan(0);
  });
});
