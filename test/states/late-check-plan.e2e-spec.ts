import { Client } from 'pg';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';

/** Broadcasts the stream holds before each case: its history, every one with its position. */
const OLD_BROADCASTS = 50_000;

// inbox_assign_seq gives a shared row its position when its transaction commits and sets `late`
// (a row stored after it already has a lower position). PL/pgSQL caches the check's plan per
// connection and keeps a generic one from the sixth commit on (forced here): it does not know
// that `o.id > NEW.id` keeps a handful of rows while `o.seq < next_seq` keeps the whole stream.
describe("the late check of a shared row's position", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;
  let other: Client;

  const broadcast = (client: Client, title: string) =>
    client.query<{ id: string }>(
      `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon)
       VALUES (NULL, 'note', $1, txid_current(), txid_current()) RETURNING id::text`,
      [title],
    );
  const stateOf = async (id: string) =>
    (await c.query<{ seq: string; late: boolean }>(`SELECT seq::text, late FROM inbox_notification WHERE id = $1`, [id])).rows[0];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    other = new Client({ connectionString: db.url });
    await Promise.all([c.connect(), other.connect()]);
    // The history as the trigger would have left it: positions 1..N, in id order.
    await c.query(`SET session_replication_role = replica`);
    await c.query(
      `INSERT INTO inbox_notification (user_id, type, title, tx_id, tx_horizon, seq, type_seq)
       SELECT NULL, 'note', 'old', 1000 + g, 1000 + g, g, g FROM generate_series(1, ${OLD_BROADCASTS}) g`,
    );
    await c.query(`INSERT INTO inbox_stream (stream, scope, seq) VALUES ('', '', ${OLD_BROADCASTS})`);
    await c.query(`INSERT INTO inbox_stream_type (stream, scope, type, seq) VALUES ('', '', 'note', ${OLD_BROADCASTS})`);
    await c.query(`RESET session_replication_role`);
    await c.query('ANALYZE inbox_notification');
    for (const client of [c, other]) await client.query(`SET plan_cache_mode = force_generic_plan`);
  });

  afterAll(async () => {
    await Promise.all([c?.end(), other?.end()]);
    await db?.drop();
  });

  it("reads a few index pages, not the stream's positions, with the generic plan (the scale rule)", async () => {
    // Pages each index fetched so far: the backend's counts since its last report (no report inside a transaction).
    const fetched = async () =>
      (
        await c.query<{ seq_idx: string; id_idx: string }>(
          `SELECT pg_stat_get_xact_blocks_fetched('inbox_notification_shared_seq_idx'::regclass)::text AS seq_idx,
                  pg_stat_get_xact_blocks_fetched('inbox_notification_shared_idx'::regclass)::text AS id_idx`,
        )
      ).rows[0];
    await c.query('BEGIN');
    // The deferred trigger fires at the INSERT's end, inside the transaction.
    await c.query('SET CONSTRAINTS ALL IMMEDIATE');
    const before = await fetched();
    const { rows } = await broadcast(c, 'new');
    const after = await fetched();
    await c.query('COMMIT');
    expect(await stateOf(rows[0].id)).toEqual({ seq: String(OLD_BROADCASTS + 1), late: false });
    // The EXISTS walked the (stream, scope, seq) index from position 1 (253 pages here; 6,000 buffers at
    // 200,000 broadcasts); each index's own upkeep (the row stored, then given its position) is a few.
    expect(Number(after.seq_idx) - Number(before.seq_idx)).toBeLessThan(10);
    expect(Number(after.id_idx) - Number(before.id_idx)).toBeLessThan(10);
  });

  it('marks late a row a later-stored one overtook, and only it', async () => {
    await other.query('BEGIN');
    const first = (await broadcast(other, 'stored first, committed last')).rows[0].id;
    const second = (await broadcast(c, 'stored last, committed first')).rows[0].id;
    await other.query('COMMIT');
    const [a, b] = [await stateOf(first), await stateOf(second)];
    expect(b.late).toBe(false);
    expect(a.late).toBe(true);
    expect(Number(a.seq)).toBe(Number(b.seq) + 1);
  });
});
