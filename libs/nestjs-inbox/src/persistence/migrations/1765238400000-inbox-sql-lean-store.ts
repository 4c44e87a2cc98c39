import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';
import { fastStore } from './1765065600000-inbox-sql-fast-path';

/**
 * Issue 27: fewer statements and catalog touches in each call of the SQL door (one call per
 * transaction, so whatever a transaction touches first is paid on every call).
 *
 * - The payload limit's lookup names the database by the OID in `pg_relation_filepath` of
 *   `pg_class` (`base/<database>/<file>`, or `pg_tblspc/<space>/<version>/<database>/<file>`;
 *   both end with the database's OID, read from the relation cache) instead of looking its name
 *   up in `pg_database`. `pg_database` is a shared catalog: its lock cannot take a backend's
 *   fast-path slot, so every call took it in the shared lock table, as every other producer did.
 *   `setdatabase` is compared as text, so `pg_db_role_setting` is read by one scan of its single
 *   page without its index. The same row answers, the same errors are raised.
 * - The wake-up is part of the statement that stores the rows: the registry lock is taken
 *   (shared, a plain expression, no statement) right before it, so that statement's snapshot is
 *   still taken after the lock, as InboxSqlWake needs, and the statement itself answers whether
 *   to NOTIFY (rows stored, and an armed listener, none registered, or above READ COMMITTED).
 *   Two statements per call fewer (the lock's PERFORM and the listener query). The registry lock
 *   is now held also by a call whose rows were all deduplicated away: it only delays a listener
 *   that registers meanwhile from arming until that transaction ends, as a storing call does.
 * - The common call (one recipient; only type, title, body and data) stores its row with a plain
 *   INSERT … VALUES (`oneRow`, below) instead of the general statement.
 */
export class InboxSqlLeanStore1765238400000 implements MigrationInterface {
  name = 'InboxSqlLeanStore1765238400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(leanStore(await inboxSchema(db)));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(fastStore(await inboxSchema(db)));
  }
}

/**
 * InboxSqlWake's test of whether to NOTIFY, unchanged, now in the statement that stores the rows
 * (its snapshot is taken after the registry lock, as InboxSqlWake needs).
 */
const wakeTest = (s: string) => `current_setting('transaction_isolation') <> 'read committed'
             OR NOT EXISTS (SELECT 1 FROM ${s}.inbox_sql_listener)
             OR EXISTS (SELECT 1 FROM ${s}.inbox_sql_listener l WHERE NOT pg_try_advisory_xact_lock_shared(1735289205, l.pid))`;

/**
 * The common call (one recipient; only type, title, body and data): the same row and answer from
 * a plain VALUES, without the general statement's DISTINCT over the recipients, its CTEs, its
 * aggregate and the expressions of fields the call does not have, whose plan nodes Postgres sets
 * up again in every call. The columns left out take their defaults, which are what the general
 * statement writes for a notification without those fields (scope '', tags '{}', the rest NULL);
 * a NULL dedupe_key never meets the ON CONFLICT arbiter (a partial index on dedupe_key IS NOT
 * NULL), so that clause goes too. The tx and horizon come from the statement's snapshot, as the
 * general statement's CTE does. The element is read at the array's own lower bound, and only from a
 * one-dimensional array (`'[0:0]={u}'` or `'{{u}}'` has no element [1]: the general statement's
 * unnest reads them).
 */
const oneRow = (s: string) => `    IF NOT uncommon AND cardinality(recipients) = 1 AND array_ndims(recipients) = 1 THEN
      INSERT INTO ${s}.inbox_notification AS x (user_id, topic, type, title, body, data, tx_id, tx_horizon, via_sql)
      VALUES (recipients[array_lower(recipients, 1)], stream_topic, n->>'type', n->>'title', n->>'body',
              CASE WHEN jsonb_typeof(n->'data') = 'object' THEN n->'data' END,
              pg_current_xact_id()::text::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint, true)
      RETURNING ARRAY[x.id], ${wakeTest(s)}
        INTO ids, wake;
    ELSE
`;

/** InboxSqlFastPath's `inbox_store` with the lookup, the one-row statement and the wake-up above. */
export const leanStore = (s: string) =>
  [
    [
      '       AND d.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))\n',
      // The database's OID from the relation cache (see above); as text, so no index is opened.
      "       AND d.setdatabase::text IN ('0', substring(pg_relation_filepath('pg_catalog.pg_class'::regclass) from '([0-9]+)/[0-9]+$'))\n",
    ],
    ['    uncommon boolean;\n', '    uncommon boolean;\n    wake boolean;\n'],
    [
      "    -- As the library's INSERT: one statement, its snapshot taken before the ids are drawn.\n",
      '    -- The registry lock (InboxSqlWake), before the statement that reads inbox_sql_listener takes\n' +
        '    -- its snapshot; an expression, not a PERFORM, so no statement of its own.\n' +
        '    wake := pg_advisory_xact_lock_shared(1735289206, 0) IS NULL;\n' +
        oneRow(s) +
        "    -- As the library's INSERT: one statement, its snapshot taken before the ids are drawn.\n",
    ],
    [
      "    SELECT COALESCE(array_agg(id ORDER BY id), '{}') INTO ids FROM ins;\n",
      // Evaluated only when rows were stored (AND stops at false; the sub-selects run when first needed).
      "    SELECT COALESCE(array_agg(id ORDER BY id), '{}'),\n" +
        `           count(*) > 0 AND (${wakeTest(s)})\n` +
        '      INTO ids, wake FROM ins;\n' +
        '    END IF;\n',
    ],
    [
      `    IF cardinality(ids) > 0 THEN
      PERFORM pg_advisory_xact_lock_shared(1735289206, 0);
      IF current_setting('transaction_isolation') <> 'read committed'
         OR NOT EXISTS (SELECT 1 FROM ${s}.inbox_sql_listener)
         OR EXISTS (SELECT 1 FROM ${s}.inbox_sql_listener l WHERE NOT pg_try_advisory_xact_lock_shared(1735289205, l.pid)) THEN
        PERFORM pg_notify('nestjs_inbox', '');
      END IF;
    END IF;
`,
      `    IF wake THEN
      PERFORM pg_notify('nestjs_inbox', '');
    END IF;
`,
    ],
  ].reduce((text, [at, by]) => {
    // InboxSqlFastPath's text is fixed: each anchor is there once, or this migration is wrong.
    if (text.split(at).length !== 2) throw new Error(`InboxSqlLeanStore: expected one ${JSON.stringify(at)} in inbox_store`);
    return text.replace(at, () => by);
  }, fastStore(s));
