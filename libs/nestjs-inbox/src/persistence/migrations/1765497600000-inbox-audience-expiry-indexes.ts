import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What retention still has to do when a row expires: delete it (a direct row) or empty it (a
 * shared row holding content; it keeps its position until `days` passes it). The condition is
 * written as retention's two statements write theirs (PRUNE_SQL's `expired_direct` and
 * `expired_shared`), so each proves it and walks only its own work.
 */
const EXPIRING_WORK = `expires_at IS NOT NULL AND (user_id IS NOT NULL
    OR title IS NOT NULL OR body IS NOT NULL OR data IS NOT NULL OR url IS NOT NULL
    OR actions IS NOT NULL OR actor IS NOT NULL OR tags <> '{}')`;

/**
 * Two indexes that keep background walks to their own work (docs/performance.md, "The other
 * background and per-user statements under a generic plan"):
 *
 * - `inbox_user_state_scope_idx` (scope, user_id): the users the inbox knows in one scope, in
 *   user id order, for the channel sends of a scoped broadcast (PLAN_SHARED_SQL). The primary
 *   key (user_id, scope) served it by reading every scope's users and filtering (478 buffers per
 *   batch at 100,000 user states, for a scope of none).
 * - `inbox_notification_expiring_idx` (expires_at) over EXPIRING_WORK: retention's expired rows.
 *   `inbox_notification_expires_idx` holds every expiring row, the emptied shared ones too, so
 *   each batch read all of those (24 ms a batch with nothing to do at 600,000 shared rows). An
 *   emptied row leaves this index. The older index stays: the per-user counts' plans may use it.
 *
 * Plain CREATE INDEX, as every migration here: TypeORM runs migrations in a transaction, where
 * CONCURRENTLY is refused. Both tables are locked against writes while the index builds (a
 * host with a large inbox_notification may build it beforehand, CONCURRENTLY, with this name
 * and definition: IF NOT EXISTS then skips it; an INVALID one, left by a failed CONCURRENTLY
 * build and never used by a plan, is dropped and built again).
 */
/**
 * Drops the index `name` of `table` (the table as the search path finds it, as CREATE INDEX
 * does) if a failed CREATE INDEX CONCURRENTLY left it INVALID.
 */
const dropIfInvalid = (table: string, name: string) => `DO $$ DECLARE invalid text;
  BEGIN
    SELECT format('%I.%I', n.nspname, x.relname) INTO invalid
      FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid JOIN pg_namespace n ON n.oid = x.relnamespace
     WHERE i.indrelid = '${table}'::regclass AND x.relname = '${name}' AND NOT i.indisvalid;
    IF invalid IS NOT NULL THEN
      EXECUTE 'DROP INDEX ' || invalid;
    END IF;
  END $$`;

export class InboxAudienceExpiryIndexes1765497600000 implements MigrationInterface {
  name = 'InboxAudienceExpiryIndexes1765497600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(dropIfInvalid('inbox_user_state', 'inbox_user_state_scope_idx'));
    await db.query(dropIfInvalid('inbox_notification', 'inbox_notification_expiring_idx'));
    await db.query(`CREATE INDEX IF NOT EXISTS inbox_user_state_scope_idx ON inbox_user_state (scope, user_id)`);
    await db.query(`CREATE INDEX IF NOT EXISTS inbox_notification_expiring_idx ON inbox_notification (expires_at) WHERE ${EXPIRING_WORK}`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX inbox_notification_expiring_idx`);
    await db.query(`DROP INDEX inbox_user_state_scope_idx`);
  }
}
