import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema, linkChecks } from './1764374400000-inbox-sql-privileges';

/**
 * As InboxSqlPrivileges pins the search_path (see there); and the jsonpath literals' backslashes,
 * which a PL/pgSQL body parses when a session first plans it, with that session's setting.
 */
const PINNED = `SET search_path = pg_catalog, pg_temp SET standard_conforming_strings = on`;

/**
 * Issue 27: the CHECK constraints of `actions` and `actor` (InboxSqlPrivileges) cost every
 * INSERT statement into inbox_notification about 25-30 µs, whatever its rows hold.
 *
 * Postgres reads a table's CHECK expressions from their stored node text at the start of every
 * statement that writes it (ExecRelCheck: stringToNode, then planning the expression). Those two
 * hold three jsonpath constants, serialised byte by byte: 7 kB of node text, parsed again for
 * each INSERT. The SQL door runs one INSERT per call, so its producers' backends paid it on
 * every notification (`perf`: stringToNode ~6% of a producer's backend samples).
 *
 * The same expressions now live in two functions, `inbox_actions_safe` and `inbox_actor_safe`
 * (PL/pgSQL: planned once per session; STRICT: a NULL field, the common case, does not call them),
 * and each constraint is a call of one: a node text of a few hundred bytes. A row with `actions`
 * or `actor` pays the call instead (measured: +3 µs a row with both, 10,000 rows in one INSERT).
 * A NULL result passes a CHECK, as `actions IS NULL` did, so the same rows pass.
 *
 * The constraints are added NOT VALID: the rows already there passed the same expression under
 * the constraints this replaces, and validating would hold the table's ACCESS EXCLUSIVE lock
 * (this migration's transaction) through a scan of the whole table. New and updated rows are
 * checked all the same. Like inbox_url_problem, the functions stay executable by everyone: a
 * CHECK runs them as the role that inserts.
 */
export class InboxLinkCheckFunctions1765152000000 implements MigrationInterface {
  name = 'InboxLinkCheckFunctions1765152000000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    const checks = linkChecks(s);
    for (const column of COLUMNS) {
      await db.query(`
        CREATE FUNCTION ${s}.inbox_${column}_safe(${column} jsonb) RETURNS boolean
        LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE ${PINNED} AS $$
        BEGIN
          RETURN ${checks[column]};
        END $$`);
    }
    await db.query(`
      ALTER TABLE ${s}.inbox_notification
        ${COLUMNS.map(
          (column) =>
            `DROP CONSTRAINT inbox_notification_${column}_check, ` +
            `ADD CONSTRAINT inbox_notification_${column}_check CHECK (${s}.inbox_${column}_safe(${column})) NOT VALID`,
        ).join(', ')}`);
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    const checks = linkChecks(s);
    await db.query(`
      ALTER TABLE ${s}.inbox_notification
        ${COLUMNS.map(
          (column) =>
            `DROP CONSTRAINT inbox_notification_${column}_check, ` +
            `ADD CONSTRAINT inbox_notification_${column}_check CHECK (${checks[column]}) NOT VALID`,
        ).join(', ')}`);
    await db.query(`DROP FUNCTION ${COLUMNS.map((column) => `${s}.inbox_${column}_safe(jsonb)`).join(', ')}`);
  }
}

const COLUMNS = ['actions', 'actor'] as const;
