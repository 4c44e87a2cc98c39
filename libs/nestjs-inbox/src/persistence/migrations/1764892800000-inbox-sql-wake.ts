import type { MigrationInterface, QueryRunner } from 'typeorm';
import { groupedStore } from './1764633600000-inbox-groups';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';

/** SQL as written: the regular expressions below keep their backslashes. */
const sql = String.raw;

/** As InboxSqlPrivileges pins it: see there. */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/** A listener's wake-up lock (WAKE_LOCK, its pid): apart from inbox_group_lock's 1735289204 and the host's one-key locks. */
const WAKE_LOCK = 1735289205;
/** The registry lock (REGISTRY_LOCK, 0): held shared by inbox_store from before it reads inbox_sql_listener. */
const REGISTRY_LOCK = 1735289206;

/**
 * Issue 27: the SQL door without a NOTIFY per transaction; issue 24: the SQL door takes `channels`.
 *
 * Postgres takes one database-wide lock when a transaction that called pg_notify commits, and
 * holds it through the commit's WAL flush: such commits run one at a time (757/s from 20
 * connections on the bench machine). A wake-up is now sent only to a listener that waits for
 * one ("armed"), and a listener that does not wait reads anyway:
 *
 * - `inbox_sql_listener`: the backends (pid) of the gateways' listening connections
 *   (SqlProducerListener registers its own, and removes those no longer running). Unlogged: a
 *   crash empties it, and every listener reconnects and registers again.
 * - A listener is armed while it holds the advisory lock (WAKE_LOCK, its pid), exclusive, at
 *   session level. It arms only when a read found nothing new; it disarms on a wake-up, and reads
 *   back to back while reads find rows.
 * - inbox_store, once it stored rows, tries that lock shared for each registered listener
 *   (`pg_try_advisory_xact_lock_shared`, held to the end of the transaction): if one is armed the
 *   try fails and the transaction NOTIFYs; if none is, it holds their locks shared, so no
 *   listener can arm until it has committed or rolled back, and the read after arming sees its
 *   rows (a transaction's locks are released after its commit is visible). No row is written,
 *   nothing is shared between producers but a lock compatible with itself.
 * - A listener that registers arms only once every call that read the table before its row was
 *   there has ended (it could take REGISTRY_LOCK exclusive, and let go at once). A transaction
 *   above READ COMMITTED (its snapshot may predate a registration) always NOTIFYs.
 * - No listener registered (none running, or only gateways older than this migration): every
 *   call NOTIFYs, as before.
 *
 * `channels` (docs/channels.md) is checked as NotificationInput.channels is (SQLSTATE 22023
 * naming `notification.channels…`) and kept in the row's new `channels` column (NULL when
 * absent or empty), where the listener reads it to plan the sends after the commit.
 */
export class InboxSqlWake1764892800000 implements MigrationInterface {
  name = 'InboxSqlWake1764892800000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`CREATE UNLOGGED TABLE ${s}.inbox_sql_listener (
      pid integer PRIMARY KEY,
      registered_at timestamptz NOT NULL DEFAULT now())`);
    await db.query(`ALTER TABLE ${s}.inbox_notification ADD COLUMN channels jsonb`);
    await db.query(wakingStore(s));
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(groupedStore(s));
    await db.query(`ALTER TABLE ${s}.inbox_notification DROP COLUMN channels`);
    await db.query(`DROP TABLE ${s}.inbox_sql_listener`);
  }
}

/**
 * InboxGroups' `inbox_store` with `notification.channels` (checked, stored in `channels`) and
 * the wake-up only for an armed listener (see above).
 */
export const wakingStore = (s: string) => sql`
  CREATE OR REPLACE FUNCTION ${s}.inbox_store(fn text, recipients text[], stream_topic text, n jsonb) RETURNS bigint[]
  LANGUAGE plpgsql ${PINNED} AS $$
  DECLARE
    k text;
    r text;
    i int := 0;
    expires timestamptz;
    setting text;
    server_max int := 16384;
    max_bytes int;
    size int;
    ids bigint[];
    elem jsonb;
    pos int;
    field text;
    problem text;
  BEGIN
    -- The server's limit: the database's own setting, which only its owner can change (else one
    -- a superuser set for every role, ALTER ROLE ALL). The session's value (the database's, or
    -- the caller's SET, ALTER ROLE or connection option) may only lower it.
    SELECT substr(c, length('inbox.max_payload_bytes=') + 1) INTO setting
      FROM pg_db_role_setting d CROSS JOIN unnest(d.setconfig) AS c
     WHERE d.setrole = 0 AND starts_with(c, 'inbox.max_payload_bytes=')
       AND d.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
     ORDER BY d.setdatabase DESC
     LIMIT 1;
    IF setting IS NOT NULL THEN
      IF setting !~ '^[0-9]{1,9}$' OR setting::int < 1 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': inbox.max_payload_bytes (the database''s): must be a positive integer, got ' || left(setting, 40);
      END IF;
      server_max := setting::int;
    END IF;
    setting := NULLIF(current_setting('inbox.max_payload_bytes', true), '');
    IF setting IS NOT NULL AND (setting !~ '^[0-9]{1,9}$' OR setting::int < 1) THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': inbox.max_payload_bytes: must be a positive integer, got ' || left(setting, 40);
    END IF;
    max_bytes := LEAST(server_max, COALESCE(setting::int, server_max));

    IF n IS NULL OR jsonb_typeof(n) <> 'object' THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification: must be a JSON object';
    END IF;
    FOR k IN SELECT jsonb_object_keys(n) LOOP
      IF NOT k = ANY (ARRAY['type', 'title', 'body', 'data', 'dedupeKey', 'expiresAt', 'url', 'actions', 'actor', 'tags', 'scope', 'group', 'channels']) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.' || k
          || ': unknown field (expected type, title, body, data, dedupeKey, expiresAt, url, actions, actor, tags, scope, group, channels)';
      END IF;
    END LOOP;
    -- NUL and lone surrogates never get here (parseNotification, or jsonb refused them).
    IF COALESCE(jsonb_typeof(n->'scope'), 'null') NOT IN ('string', 'null')
       OR length(n->>'scope') NOT BETWEEN 1 AND 200 THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.scope: must be a string of 1 to 200 characters or null';
    END IF;
    IF COALESCE(jsonb_typeof(n->'group'), 'null') NOT IN ('string', 'null')
       OR length(n->>'group') NOT BETWEEN 1 AND 200 THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.group: must be a string of 1 to 200 characters or null';
    END IF;
    IF n->>'group' IS NOT NULL AND recipients IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.group: '
        || 'groups apply to notifications to users; a broadcast or a publication stays one row for every user';
    END IF;
    -- As the library's NotificationInput.channels: per channel true, false or { after } (ms, 0 to 30 days).
    IF COALESCE(jsonb_typeof(n->'channels'), 'null') NOT IN ('object', 'null') THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.channels: must be an object ({ email, webPush }) or null';
    END IF;
    IF jsonb_typeof(n->'channels') = 'object' THEN
      FOR k, elem IN SELECT c.key, c.value FROM jsonb_each(n->'channels') AS c ORDER BY c.key LOOP
        field := fn || ': notification.channels.' || k;
        IF NOT k = ANY (ARRAY['email', 'webPush']) THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': is not a channel (email, webPush)';
        END IF;
        CONTINUE WHEN jsonb_typeof(elem) = 'boolean';
        IF jsonb_typeof(elem) <> 'object' OR EXISTS (SELECT 1 FROM jsonb_object_keys(elem) AS x(key) WHERE x.key <> 'after') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': must be true, false or { after }';
        END IF;
        IF elem ? 'after' THEN
          IF jsonb_typeof(elem->'after') <> 'number' OR (elem->>'after')::numeric NOT BETWEEN 0 AND 2592000000 THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.after: must be a number of ms from 0 to 2592000000 (30 days)';
          END IF;
          IF (elem->>'after')::numeric <> trunc((elem->>'after')::numeric) THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.after: must be an integer number of ms';
          END IF;
        END IF;
      END LOOP;
    END IF;
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
        IF n->>'expiresAt' !~ E'^\\d{4}-\\d{2}-\\d{2}[Tt ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?([Zz]|[+-]\\d{2}(:?\\d{2})?)$' THEN
          RAISE EXCEPTION 'no offset';
        END IF;
        expires := (n->>'expiresAt')::timestamptz;
      EXCEPTION WHEN others THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: not a date-time with an offset (ISO 8601, e.g. 2030-01-01T00:00:00Z): '
          || left(n->>'expiresAt', 40);
      END;
      IF expires <= now() THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: must be in the future';
      END IF;
    END IF;

    IF COALESCE(jsonb_typeof(n->'url'), 'null') NOT IN ('string', 'null') THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.url: must be a string or null';
    END IF;
    problem := ${s}.inbox_url_problem(n->>'url');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.url: ' || problem;
    END IF;
    problem := ${s}.inbox_actions_problem(n->'actions');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.actions' || problem;
    END IF;
    problem := ${s}.inbox_actor_problem(n->'actor');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.actor' || problem;
    END IF;

    IF COALESCE(jsonb_typeof(n->'tags'), 'null') NOT IN ('array', 'null') THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.tags: must be an array of strings or null';
    END IF;
    IF jsonb_typeof(n->'tags') = 'array' THEN
      IF jsonb_array_length(n->'tags') > 10 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.tags: must have at most 10 tags';
      END IF;
      FOR elem, pos IN SELECT x.e, x.i - 1 FROM jsonb_array_elements(n->'tags') WITH ORDINALITY AS x(e, i) LOOP
        field := fn || ': notification.tags[' || pos || ']';
        IF jsonb_typeof(elem) <> 'string' OR length(elem #>> '{}') NOT BETWEEN 1 AND 64 THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': must be a string of 1 to 64 characters';
        END IF;
        IF EXISTS (SELECT 1 FROM jsonb_array_elements(n->'tags') WITH ORDINALITY AS y(e, i) WHERE y.i <= pos AND y.e = elem) THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': repeats ' || elem::text;
        END IF;
      END LOOP;
    END IF;

    size := octet_length(jsonb_build_array(n->'title', n->'body', n->'data', n->'url', n->'actions', n->'actor', n->'tags')::text);
    IF size > max_bytes THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification: title, body, data, url, actions, actor and tags take '
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

    -- Before the statement that stores them: that statement, and inbox_group's, see the item the
    -- transaction that held a lock before stored (see inbox_group_lock).
    IF n->>'group' IS NOT NULL THEN
      PERFORM ${s}.inbox_group_lock(recipients, COALESCE(n->>'scope', ''), n->>'group');
    END IF;
    -- As the library's INSERT: one statement, its snapshot taken before the ids are drawn.
    WITH tx AS (
      SELECT pg_current_xact_id()::text::bigint AS tx_id,
             pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
    ), ins AS (
      INSERT INTO ${s}.inbox_notification AS x
             (user_id, topic, scope, group_key, type, title, body, data, dedupe_key, expires_at, url, actions, actor, tags,
              tx_id, tx_horizon, via_sql, channels)
      SELECT u.user_id, stream_topic, COALESCE(n->>'scope', ''), n->>'group', n->>'type', n->>'title', n->>'body',
             CASE WHEN jsonb_typeof(n->'data') = 'object' THEN n->'data' END,
             n->>'dedupeKey', expires, n->>'url',
             CASE WHEN jsonb_typeof(n->'actions') = 'array' AND jsonb_array_length(n->'actions') > 0 THEN n->'actions' END,
             CASE WHEN jsonb_typeof(n->'actor') = 'object' THEN n->'actor' END,
             CASE WHEN jsonb_typeof(n->'tags') = 'array'
                  THEN ARRAY(SELECT t.e FROM jsonb_array_elements_text(n->'tags') WITH ORDINALITY AS t(e, i) ORDER BY t.i)
                  ELSE '{}'::text[] END,
             tx.tx_id, tx.tx_horizon, true,
             CASE WHEN jsonb_typeof(n->'channels') = 'object' AND n->'channels' <> '{}'::jsonb THEN n->'channels' END
        FROM (SELECT DISTINCT unnest(COALESCE(recipients, ARRAY[NULL::text])) AS user_id) u CROSS JOIN tx
      ON CONFLICT ((COALESCE(user_id, '')), (COALESCE(topic, '')), scope, dedupe_key) WHERE dedupe_key IS NOT NULL
      DO NOTHING
      RETURNING x.id
    )
    SELECT COALESCE(array_agg(id ORDER BY id), '{}') INTO ids FROM ins;
    IF n->>'group' IS NOT NULL AND cardinality(ids) > 0 THEN
      PERFORM ${s}.inbox_group(ids);
    END IF;
    -- The wake-up, only for a listener that asked for one (see inbox_sql_listener): a listener
    -- not armed cannot arm until this transaction has ended (the shared lock), and reads after.
    -- No listener registered (none running, or only gateways older than this migration): as before.
    -- A transaction with an older snapshot than the statement's (REPEATABLE READ, SERIALIZABLE)
    -- might not see a listener that registered meanwhile: it always NOTIFYs.
    IF cardinality(ids) > 0 THEN
      PERFORM pg_advisory_xact_lock_shared(${REGISTRY_LOCK}, 0);
      IF current_setting('transaction_isolation') <> 'read committed'
         OR NOT EXISTS (SELECT 1 FROM ${s}.inbox_sql_listener)
         OR EXISTS (SELECT 1 FROM ${s}.inbox_sql_listener l WHERE NOT pg_try_advisory_xact_lock_shared(${WAKE_LOCK}, l.pid)) THEN
        PERFORM pg_notify('nestjs_inbox', '');
      END IF;
    END IF;
    RETURN ids;
  END $$`;
