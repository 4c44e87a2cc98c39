import { NOTIFICATIONS_MIGRATIONS } from 'nestjs-inbox/persistence/migrations';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { createDatabase } from '../support/database';

// InboxAudienceExpiryIndexes builds its indexes IF NOT EXISTS, so that a host can build them
// beforehand, CONCURRENTLY. A CONCURRENTLY build that failed leaves the index INVALID: never used
// by a plan, and skipped by IF NOT EXISTS. The migration must build such an index again.
describe('InboxAudienceExpiryIndexes over an index a failed concurrent build left', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let ds: DataSource;
  let c: Client;

  beforeAll(async () => {
    db = await createDatabase();
    ds = new DataSource({ type: 'postgres', url: db.url, migrations: [...NOTIFICATIONS_MIGRATIONS] });
    await ds.initialize();
    c = new Client({ connectionString: db.url });
    await c.connect();
  });

  afterAll(async () => {
    await c?.end();
    await ds?.destroy();
    await db?.drop();
  });

  const valid = async (name: string) =>
    (
      await c.query<{ valid: boolean }>(
        `SELECT i.indisvalid AS valid FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE x.relname = $1`,
        [name],
      )
    ).rows.map((r) => r.valid);

  it('drops the INVALID index and builds it, valid', async () => {
    await ds.runMigrations();
    const last = NOTIFICATIONS_MIGRATIONS[NOTIFICATIONS_MIGRATIONS.length - 1];
    expect(last.name).toBe('InboxAudienceExpiryIndexes1765497600000');
    await ds.undoLastMigration();
    // A build that fails (a unique index over two users of one scope) leaves the name INVALID.
    await c.query(`INSERT INTO inbox_user_state (user_id, scope) VALUES ('a', 't'), ('b', 't')`);
    await expect(c.query(`CREATE UNIQUE INDEX CONCURRENTLY inbox_user_state_scope_idx ON inbox_user_state (scope)`)).rejects.toThrow(
      /could not create unique index/,
    );
    expect(await valid('inbox_user_state_scope_idx')).toEqual([false]);

    await ds.runMigrations();
    expect(await valid('inbox_user_state_scope_idx')).toEqual([true]);
    expect(await valid('inbox_notification_expiring_idx')).toEqual([true]);
    const { rows } = await c.query<{ def: string }>(`SELECT pg_get_indexdef('inbox_user_state_scope_idx'::regclass) AS def`);
    expect(rows[0].def).toMatch(/^CREATE INDEX inbox_user_state_scope_idx ON public\.inbox_user_state USING btree \(scope, user_id\)$/);
  });
});
