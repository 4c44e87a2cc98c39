import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SQL functions, so any backend that reaches the database notifies with the same guarantees as
 * `notify`: `inbox_notify(recipients text[], notification jsonb)`, `inbox_broadcast(notification
 * jsonb)`, `inbox_publish(topic text, notification jsonb)`. Each validates its input as the
 * service does (a clear SQL error, SQLSTATE 22023, naming the field; nothing stored), stores the
 * rows exactly as the library's own INSERT does (transaction id and horizon, dedupe key), and
 * returns the ids stored (a repeated dedupe key stores nothing and returns none). Called inside
 * the caller's transaction: a rollback leaves nothing; a commit wakes the gateways with a NOTIFY
 * (Postgres delivers it on commit only), which read what committed by transaction horizon
 * (SqlProducerListener). The rows are marked `via_sql` so the gateways read only those: the
 * library's own rows are delivered by the instance that wrote them.
 *
 * The payload limit is the module's default `maxPayloadBytes` (16384) unless the database sets
 * `inbox.max_payload_bytes` (e.g. `ALTER DATABASE app SET inbox.max_payload_bytes = 32768`).
 */
export class InboxSqlProducers1764115200000 implements MigrationInterface {
  name = 'InboxSqlProducers1764115200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE inbox_notification ADD COLUMN via_sql boolean NOT NULL DEFAULT false`);
    await db.query(`CREATE INDEX inbox_notification_via_sql_idx ON inbox_notification (tx_id) WHERE via_sql`);
    await db.query(`
      CREATE FUNCTION inbox_store(fn text, recipients text[], stream_topic text, n jsonb) RETURNS bigint[]
      LANGUAGE plpgsql AS $$
      DECLARE
        k text;
        r text;
        i int := 0;
        expires timestamptz;
        max_bytes int := COALESCE(NULLIF(current_setting('inbox.max_payload_bytes', true), '')::int, 16384);
        size int;
        ids bigint[];
      BEGIN
        IF n IS NULL OR jsonb_typeof(n) <> 'object' THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification: must be a JSON object';
        END IF;
        FOR k IN SELECT jsonb_object_keys(n) LOOP
          IF NOT k = ANY (ARRAY['type', 'title', 'body', 'data', 'dedupeKey', 'expiresAt']) THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.' || k
              || ': unknown field (expected type, title, body, data, dedupeKey, expiresAt)';
          END IF;
        END LOOP;
        IF jsonb_typeof(n->'type') IS DISTINCT FROM 'string' OR btrim(n->>'type') = '' THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.type: must be a non-empty string';
        END IF;
        IF length(n->>'type') > 100 THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.type: must be at most 100 characters';
        END IF;
        IF COALESCE(jsonb_typeof(n->'title'), 'null') NOT IN ('string', 'null') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.title: must be a string or null';
        END IF;
        IF length(n->>'title') > 1000 THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.title: must be at most 1000 characters';
        END IF;
        IF COALESCE(jsonb_typeof(n->'body'), 'null') NOT IN ('string', 'null') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.body: must be a string or null';
        END IF;
        IF COALESCE(jsonb_typeof(n->'data'), 'null') NOT IN ('object', 'null') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.data: must be a JSON object or null';
        END IF;
        IF COALESCE(jsonb_typeof(n->'dedupeKey'), 'null') NOT IN ('string', 'null')
           OR length(n->>'dedupeKey') NOT BETWEEN 1 AND 255 THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.dedupeKey: must be a string of 1 to 255 characters or null';
        END IF;
        IF COALESCE(jsonb_typeof(n->'expiresAt'), 'null') NOT IN ('string', 'null') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: must be an ISO 8601 date-time string or null';
        END IF;
        IF n->>'expiresAt' IS NOT NULL THEN
          BEGIN
            expires := (n->>'expiresAt')::timestamptz;
          EXCEPTION WHEN others THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: not a date-time: ' || left(n->>'expiresAt', 40);
          END;
          IF expires <= now() THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: must be in the future';
          END IF;
        END IF;
        size := octet_length(jsonb_build_array(n->'title', n->'body', n->'data')::text);
        IF size > max_bytes THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification: title, body and data take '
            || size || ' bytes, at most ' || max_bytes || ' (inbox.max_payload_bytes)';
        END IF;
        IF recipients IS NOT NULL THEN
          IF cardinality(recipients) = 0 THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': recipients: must name at least one user id';
          END IF;
          IF cardinality(recipients) > 10000 THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': recipients: ' || cardinality(recipients) || ' user ids, at most 10000 per call';
          END IF;
          FOREACH r IN ARRAY recipients LOOP
            i := i + 1;
            IF r IS NULL OR r = '' OR length(r) > 255 OR btrim(r) <> r THEN
              RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': recipients[' || i
                || ']: must be a user id of 1 to 255 characters, without surrounding whitespace';
            END IF;
          END LOOP;
        END IF;
        IF stream_topic IS NOT NULL AND (stream_topic = '' OR length(stream_topic) > 255 OR btrim(stream_topic) <> stream_topic) THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': topic: must be a topic of 1 to 255 characters, without surrounding whitespace';
        END IF;

        -- As the library's INSERT: one statement, its snapshot taken before the ids are drawn.
        WITH tx AS (
          SELECT pg_current_xact_id()::text::bigint AS tx_id,
                 pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
        ), ins AS (
          INSERT INTO inbox_notification AS x
                 (user_id, topic, type, title, body, data, dedupe_key, expires_at, tx_id, tx_horizon, via_sql)
          SELECT u.user_id, stream_topic, n->>'type', n->>'title', n->>'body',
                 CASE WHEN jsonb_typeof(n->'data') = 'object' THEN n->'data' END,
                 n->>'dedupeKey', expires, tx.tx_id, tx.tx_horizon, true
            FROM (SELECT DISTINCT unnest(COALESCE(recipients, ARRAY[NULL::text])) AS user_id) u CROSS JOIN tx
          ON CONFLICT ((COALESCE(user_id, '')), (COALESCE(topic, '')), dedupe_key) WHERE dedupe_key IS NOT NULL
          DO NOTHING
          RETURNING x.id
        )
        SELECT COALESCE(array_agg(id ORDER BY id), '{}') INTO ids FROM ins;
        IF cardinality(ids) > 0 THEN
          PERFORM pg_notify('nestjs_inbox', '');
        END IF;
        RETURN ids;
      END $$`);
    await db.query(`
      CREATE FUNCTION inbox_notify(recipients text[], notification jsonb) RETURNS bigint[]
      LANGUAGE sql AS $$
        SELECT inbox_store('inbox_notify', COALESCE(recipients, '{}'), NULL, notification)
      $$`);
    await db.query(`
      CREATE FUNCTION inbox_broadcast(notification jsonb) RETURNS bigint[]
      LANGUAGE sql AS $$ SELECT inbox_store('inbox_broadcast', NULL, NULL, notification) $$`);
    await db.query(`
      CREATE FUNCTION inbox_publish(topic text, notification jsonb) RETURNS bigint[]
      LANGUAGE plpgsql AS $$
      BEGIN
        IF topic IS NULL THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'inbox_publish: topic: must be a topic of 1 to 255 characters, without surrounding whitespace';
        END IF;
        RETURN inbox_store('inbox_publish', NULL, topic, notification);
      END $$`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP FUNCTION inbox_publish(text, jsonb)`);
    await db.query(`DROP FUNCTION inbox_broadcast(jsonb)`);
    await db.query(`DROP FUNCTION inbox_notify(text[], jsonb)`);
    await db.query(`DROP FUNCTION inbox_store(text, text[], text, jsonb)`);
    await db.query(`DROP INDEX inbox_notification_via_sql_idx`);
    await db.query(`ALTER TABLE inbox_notification DROP COLUMN via_sql`);
  }
}
