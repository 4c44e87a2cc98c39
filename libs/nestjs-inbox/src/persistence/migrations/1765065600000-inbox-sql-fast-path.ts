import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';
import { wakingStore } from './1764892800000-inbox-sql-wake';

/** As InboxSqlPrivileges pins it: see there. */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/**
 * Issue 27: less work per call of the SQL door, which runs one call per transaction.
 *
 * Profiled (perf, one producer's backend), a call of `inbox_notify` with the common input
 * (`{ type, title, body, data }`, one recipient) spent about a quarter of its CPU checking fields
 * it did not have: the loop over its keys (a query), some twenty IFs, and the three checks of
 * `url`, `actions` and `actor` (functions with a pinned search_path, each set and restored per
 * call, the SQL one parsed and planned again in every transaction). And `inbox_notify` itself,
 * a SQL function, was parsed and planned again on every call.
 *
 * - `inbox_store`: InboxSqlWake's, with the checks of the other fields (the unknown-key loop,
 *   scope, group, channels, dedupeKey, expiresAt, url, actions, actor, tags) run only when the
 *   notification has a key other than type, title, body and data (one jsonb expression). Each of
 *   them passes when its field is absent, so the answers (stored rows, errors and their order)
 *   are the same; the text is InboxSqlWake's with the two blocks wrapped (`fastStore`).
 * - `inbox_notify(text[], jsonb)`: PL/pgSQL, whose statement Postgres keeps planned for the
 *   session. Same arguments, result, SECURITY DEFINER and grants (CREATE OR REPLACE keeps them).
 */
export class InboxSqlFastPath1765065600000 implements MigrationInterface {
  name = 'InboxSqlFastPath1765065600000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(fastStore(s));
    await db.query(`
      CREATE OR REPLACE FUNCTION ${s}.inbox_notify(recipients text[], notification jsonb) RETURNS bigint[]
      LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
      BEGIN
        RETURN ${s}.inbox_store('inbox_notify'::text, COALESCE(recipients, '{}'::text[]), NULL::text, notification);
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`
      CREATE OR REPLACE FUNCTION ${s}.inbox_notify(recipients text[], notification jsonb) RETURNS bigint[]
      LANGUAGE sql SECURITY DEFINER ${PINNED} AS $$
        SELECT ${s}.inbox_store('inbox_notify'::text, COALESCE(recipients, '{}'::text[]), NULL::text, notification)
      $$`);
    await db.query(wakingStore(s));
  }
}

/** Set when the notification has a key other than the common four (see above). */
const UNCOMMON = `uncommon := (n - ARRAY['type', 'title', 'body', 'data']) <> '{}'::jsonb;`;

/** InboxSqlWake's `inbox_store` with the checks of the uncommon fields skipped when there are none. */
export const fastStore = (s: string) =>
  [
    ['    problem text;\n', '    problem text;\n    uncommon boolean;\n'],
    [
      '    FOR k IN SELECT jsonb_object_keys(n) LOOP\n',
      `    ${UNCOMMON}\n    IF uncommon THEN\n    FOR k IN SELECT jsonb_object_keys(n) LOOP\n`,
    ],
    ["    IF jsonb_typeof(n->'type') IS DISTINCT FROM 'string'", "    END IF;\n    IF jsonb_typeof(n->'type') IS DISTINCT FROM 'string'"],
    [
      "    IF COALESCE(jsonb_typeof(n->'dedupeKey'), 'null')",
      "    IF uncommon THEN\n    IF COALESCE(jsonb_typeof(n->'dedupeKey'), 'null')",
    ],
    ['    size := octet_length(', '    END IF;\n\n    size := octet_length('],
  ].reduce((text, [at, by]) => {
    // InboxSqlWake's text is fixed: each anchor is there once, or this migration is wrong.
    if (text.split(at).length !== 2) throw new Error(`InboxSqlFastPath: expected one ${JSON.stringify(at)} in inbox_store`);
    return text.replace(at, () => by);
  }, wakingStore(s));
