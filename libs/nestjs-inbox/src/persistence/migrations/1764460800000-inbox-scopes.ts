import type { MigrationInterface, QueryRunner } from 'typeorm';
import { assignSeq, inboxSchema, store, tagRows } from './1764374400000-inbox-sql-privileges';

/** SQL as written: the regular expressions below keep their backslashes. */
const sql = String.raw;

/** As InboxSqlPrivileges pins it: see there. */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/** The indexes whose key gains the scope: name, then the definition before and after. */
const INDEXES: { name: string; before: string; after: string }[] = [
  {
    name: 'inbox_notification_dedupe_idx',
    before: `UNIQUE INDEX inbox_notification_dedupe_idx ON inbox_notification ((COALESCE(user_id, '')), (COALESCE(topic, '')), dedupe_key) WHERE dedupe_key IS NOT NULL`,
    after: `UNIQUE INDEX inbox_notification_dedupe_idx ON inbox_notification ((COALESCE(user_id, '')), (COALESCE(topic, '')), scope, dedupe_key) WHERE dedupe_key IS NOT NULL`,
  },
  {
    name: 'inbox_notification_late_idx',
    before: `INDEX inbox_notification_late_idx ON inbox_notification ((COALESCE(topic, '')), seq) WHERE user_id IS NULL AND late`,
    after: `INDEX inbox_notification_late_idx ON inbox_notification ((COALESCE(topic, '')), scope, seq) WHERE user_id IS NULL AND late`,
  },
  {
    name: 'inbox_notification_shared_expiring_idx',
    before: `INDEX inbox_notification_shared_expiring_idx ON inbox_notification ((COALESCE(topic, '')), seq) INCLUDE (id, expires_at) WHERE user_id IS NULL AND expires_at IS NOT NULL`,
    after: `INDEX inbox_notification_shared_expiring_idx ON inbox_notification ((COALESCE(topic, '')), scope, seq) INCLUDE (id, expires_at) WHERE user_id IS NULL AND expires_at IS NOT NULL`,
  },
  {
    name: 'inbox_notification_shared_idx',
    before: `INDEX inbox_notification_shared_idx ON inbox_notification ((COALESCE(topic, '')), id) INCLUDE (tx_id, created_at, seq) WHERE user_id IS NULL`,
    after: `INDEX inbox_notification_shared_idx ON inbox_notification ((COALESCE(topic, '')), scope, id) INCLUDE (tx_id, created_at, seq) WHERE user_id IS NULL`,
  },
  {
    name: 'inbox_notification_shared_seq_idx',
    before: `INDEX inbox_notification_shared_seq_idx ON inbox_notification ((COALESCE(topic, '')), seq) INCLUDE (id) WHERE user_id IS NULL`,
    after: `INDEX inbox_notification_shared_seq_idx ON inbox_notification ((COALESCE(topic, '')), scope, seq) INCLUDE (id) WHERE user_id IS NULL`,
  },
  {
    name: 'inbox_notification_shared_type_idx',
    before: `INDEX inbox_notification_shared_type_idx ON inbox_notification ((COALESCE(topic, '')), type, id) WHERE user_id IS NULL`,
    after: `INDEX inbox_notification_shared_type_idx ON inbox_notification ((COALESCE(topic, '')), scope, type, id) WHERE user_id IS NULL`,
  },
  {
    name: 'inbox_notification_shared_type_seq_idx',
    before: `INDEX inbox_notification_shared_type_seq_idx ON inbox_notification ((COALESCE(topic, '')), type, seq) INCLUDE (type_seq) WHERE user_id IS NULL`,
    after: `INDEX inbox_notification_shared_type_seq_idx ON inbox_notification ((COALESCE(topic, '')), scope, type, seq) INCLUDE (type_seq) WHERE user_id IS NULL`,
  },
  {
    name: 'inbox_notification_unread_idx',
    before: `INDEX inbox_notification_unread_idx ON inbox_notification (user_id, tx_id) INCLUDE (id, expires_at) WHERE user_id IS NOT NULL AND read_at IS NULL`,
    after: `INDEX inbox_notification_unread_idx ON inbox_notification (user_id, scope, tx_id) INCLUDE (id, expires_at) WHERE user_id IS NOT NULL AND read_at IS NULL`,
  },
  {
    name: 'inbox_notification_user_archived_idx',
    before: `INDEX inbox_notification_user_archived_idx ON inbox_notification (user_id, archived, id) WHERE user_id IS NOT NULL AND archived IS NOT NULL`,
    after: `INDEX inbox_notification_user_archived_idx ON inbox_notification (user_id, scope, archived, id) WHERE user_id IS NOT NULL AND archived IS NOT NULL`,
  },
  {
    name: 'inbox_notification_user_idx',
    before: `INDEX inbox_notification_user_idx ON inbox_notification (user_id, id) INCLUDE (tx_id, created_at) WHERE user_id IS NOT NULL`,
    after: `INDEX inbox_notification_user_idx ON inbox_notification (user_id, scope, id) INCLUDE (tx_id, created_at) WHERE user_id IS NOT NULL`,
  },
  {
    name: 'inbox_notification_user_type_idx',
    before: `INDEX inbox_notification_user_type_idx ON inbox_notification (user_id, type, id) WHERE user_id IS NOT NULL`,
    after: `INDEX inbox_notification_user_type_idx ON inbox_notification (user_id, scope, type, id) WHERE user_id IS NOT NULL`,
  },
  {
    name: 'inbox_receipt_archived_idx',
    before: `INDEX inbox_receipt_archived_idx ON inbox_receipt (user_id, archived, notification_id) WHERE archived IS NOT NULL`,
    after: `INDEX inbox_receipt_archived_idx ON inbox_receipt (user_id, scope, archived, notification_id) WHERE archived IS NOT NULL`,
  },
  {
    name: 'inbox_receipt_stream_idx',
    before: `INDEX inbox_receipt_stream_idx ON inbox_receipt (user_id, stream, seq)`,
    after: `INDEX inbox_receipt_stream_idx ON inbox_receipt (user_id, stream, scope, seq)`,
  },
  {
    name: 'inbox_subscription_topic_idx',
    before: `INDEX inbox_subscription_topic_idx ON inbox_subscription (topic)`,
    after: `INDEX inbox_subscription_topic_idx ON inbox_subscription (topic, scope)`,
  },
];

/** The primary keys that gain the scope: table, key before, key after. */
const KEYS: [string, string, string][] = [
  ['inbox_stream', 'stream', 'stream, scope'],
  ['inbox_stream_type', 'stream, type', 'stream, scope, type'],
  ['inbox_user_state', 'user_id', 'user_id, scope'],
  ['inbox_subscription', 'user_id, topic', 'user_id, scope, topic'],
];

/**
 * The tables that gain `scope`, '' for unscoped (the notifications first: `down` deletes the
 * scoped ones, and their receipts, tags and snoozes with them, before the rest).
 */
const SCOPED_TABLES = [
  'inbox_notification',
  'inbox_stream',
  'inbox_stream_type',
  'inbox_receipt',
  'inbox_user_state',
  'inbox_subscription',
];

/**
 * Issue 22: scopes (tenants, workspaces; docs/scopes.md). A notification may belong to a scope
 * (`inbox_notification.scope`, '' for unscoped, what every row stored before is, and what the
 * library reads as `null`); a user's inbox is per scope.
 *
 * - The scope is a plain column, '' for unscoped, in every table and index key: the planner has
 *   its statistics (those of an index expression such as `COALESCE(scope, '')` are not used when
 *   the index is partial, as these are: it then guessed 0.5% of a user's rows for their unscoped
 *   part, and sorted the part instead of walking its newest rows), and `scope = ''` keeps the
 *   index's id order (`scope IS NULL` would not).
 * - A shared stream is the pair (topic or '', scope or ''): `inbox_stream`, `inbox_stream_type`
 *   are keyed by both, positions are per pair, and every index of shared rows leads with both,
 *   so a walk of one scope's stream never reads another scope's rows. A receipt records its
 *   stream's scope.
 * - Direct rows' indexes lead with (user_id, scope or ''): the inbox (U, S) reads the ranges of
 *   S and of '' (the unscoped rows it shows too), never U's rows of another scope.
 * - `inbox_user_state` is per (user, scope): the row (U, '') holds the watermarks of U's
 *   unscoped direct rows and unscoped broadcast stream, and the unscoped inbox's preferences;
 *   (U, S) those of S. `inbox_subscription` is per (user, topic, scope).
 * - Tag owners of scoped rows carry the scope with its length (`U<len>:<scope><user>`,
 *   `S<len>:<scope><topic>`): no scoped owner equals another, nor an unscoped one (`u:`, `s:`).
 * - The SQL doors take `scope` in the notification (checked like the other fields, SQLSTATE
 *   22023 naming `notification.scope`); a dedupe key is per (user, topic, scope).
 *
 * Adding the columns rewrites no table (constant defaults); the indexes are rebuilt.
 * `down` deletes every scoped notification, subscription and preference first: without the
 * scope they would reach every user of the site.
 */
export class InboxScopes1764460800000 implements MigrationInterface {
  name = 'InboxScopes1764460800000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    for (const table of SCOPED_TABLES) {
      await db.query(`ALTER TABLE ${s}.${table} ADD COLUMN scope varchar(200) NOT NULL DEFAULT ''`);
    }
    for (const [table, , key] of KEYS) {
      await db.query(`ALTER TABLE ${s}.${table} DROP CONSTRAINT ${table}_pkey, ADD PRIMARY KEY (${key})`);
    }
    for (const index of INDEXES) {
      await db.query(`DROP INDEX ${s}.${index.name}`);
      await db.query(`CREATE ${index.after.replace(' ON ', ` ON ${s}.`)}`);
    }
    await db.query(`ALTER TABLE ${s}.inbox_notification_tag ALTER COLUMN owner TYPE varchar(470)`);
    await db.query(scopedStore(s));
    await db.query(scopedAssignSeq(s));
    await db.query(scopedTagRows(s));
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    // Receipts, tags and snoozes of the scoped rows go with them (ON DELETE CASCADE).
    for (const table of SCOPED_TABLES) await db.query(`DELETE FROM ${s}.${table} WHERE scope <> ''`);
    await db.query(store(s));
    await db.query(assignSeq(s));
    await db.query(tagRows(s));
    await db.query(`ALTER TABLE ${s}.inbox_notification_tag ALTER COLUMN owner TYPE varchar(260)`);
    for (const index of INDEXES) {
      await db.query(`DROP INDEX ${s}.${index.name}`);
      await db.query(`CREATE ${index.before.replace(' ON ', ` ON ${s}.`)}`);
    }
    for (const [table, key] of KEYS) {
      await db.query(`ALTER TABLE ${s}.${table} DROP CONSTRAINT ${table}_pkey, ADD PRIMARY KEY (${key})`);
    }
    for (const table of SCOPED_TABLES) await db.query(`ALTER TABLE ${s}.${table} DROP COLUMN scope`);
  }
}

/** InboxSqlPrivileges' `inbox_store`, with `notification.scope`: checked, stored, part of the dedupe key. */
export const scopedStore = (s: string) => sql`
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
      IF NOT k = ANY (ARRAY['type', 'title', 'body', 'data', 'dedupeKey', 'expiresAt', 'url', 'actions', 'actor', 'tags', 'scope']) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.' || k
          || ': unknown field (expected type, title, body, data, dedupeKey, expiresAt, url, actions, actor, tags, scope)';
      END IF;
    END LOOP;
    -- NUL and lone surrogates never get here (parseNotification, or jsonb refused them).
    IF COALESCE(jsonb_typeof(n->'scope'), 'null') NOT IN ('string', 'null')
       OR length(n->>'scope') NOT BETWEEN 1 AND 200 THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.scope: must be a string of 1 to 200 characters or null';
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

    -- As the library's INSERT: one statement, its snapshot taken before the ids are drawn.
    WITH tx AS (
      SELECT pg_current_xact_id()::text::bigint AS tx_id,
             pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
    ), ins AS (
      INSERT INTO ${s}.inbox_notification AS x
             (user_id, topic, scope, type, title, body, data, dedupe_key, expires_at, url, actions, actor, tags,
              tx_id, tx_horizon, via_sql)
      SELECT u.user_id, stream_topic, COALESCE(n->>'scope', ''), n->>'type', n->>'title', n->>'body',
             CASE WHEN jsonb_typeof(n->'data') = 'object' THEN n->'data' END,
             n->>'dedupeKey', expires, n->>'url',
             CASE WHEN jsonb_typeof(n->'actions') = 'array' AND jsonb_array_length(n->'actions') > 0 THEN n->'actions' END,
             CASE WHEN jsonb_typeof(n->'actor') = 'object' THEN n->'actor' END,
             CASE WHEN jsonb_typeof(n->'tags') = 'array'
                  THEN ARRAY(SELECT t.e FROM jsonb_array_elements_text(n->'tags') WITH ORDINALITY AS t(e, i) ORDER BY t.i)
                  ELSE '{}'::text[] END,
             tx.tx_id, tx.tx_horizon, true
        FROM (SELECT DISTINCT unnest(COALESCE(recipients, ARRAY[NULL::text])) AS user_id) u CROSS JOIN tx
      ON CONFLICT ((COALESCE(user_id, '')), (COALESCE(topic, '')), scope, dedupe_key) WHERE dedupe_key IS NOT NULL
      DO NOTHING
      RETURNING x.id
    )
    SELECT COALESCE(array_agg(id ORDER BY id), '{}') INTO ids FROM ins;
    IF cardinality(ids) > 0 THEN
      PERFORM pg_notify('nestjs_inbox', '');
    END IF;
    RETURN ids;
  END $$`;

/** InboxSqlPrivileges' `inbox_assign_seq`: a stream is (topic, scope), numbered on its own. */
export const scopedAssignSeq = (s: string) => sql`
  CREATE OR REPLACE FUNCTION ${s}.inbox_assign_seq() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
  DECLARE
    next_seq bigint;
    next_type_seq bigint;
  BEGIN
    -- Deleted again in its own transaction: no position, so the stream stays gapless.
    PERFORM 1 FROM ${s}.inbox_notification WHERE id = NEW.id;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    INSERT INTO ${s}.inbox_stream AS st (stream, scope, seq) VALUES (COALESCE(NEW.topic, ''), NEW.scope, 1)
    ON CONFLICT (stream, scope) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_seq;
    INSERT INTO ${s}.inbox_stream_type AS st (stream, scope, type, seq) VALUES (COALESCE(NEW.topic, ''), NEW.scope, NEW.type, 1)
    ON CONFLICT (stream, scope, type) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_type_seq;
    UPDATE ${s}.inbox_notification SET seq = next_seq, type_seq = next_type_seq, late = EXISTS (
             SELECT 1 FROM ${s}.inbox_notification o
              WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                AND o.scope = NEW.scope
                AND o.id > NEW.id AND o.seq < next_seq)
     WHERE id = NEW.id;
    RETURN NULL;
  END $$`;

/**
 * InboxStates' tag trigger with scoped owners: `U<len>:<scope><user>`, `S<len>:<scope><topic>`
 * (the length ends the scope, so no two owners are equal); unscoped ones as before.
 */
const scopedTagRows = (s: string) => sql`
  CREATE OR REPLACE FUNCTION ${s}.inbox_tag_rows() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
  BEGIN
    INSERT INTO ${s}.inbox_notification_tag (owner, tag, notification_id)
    SELECT CASE WHEN NEW.scope = ''
                THEN CASE WHEN NEW.user_id IS NULL THEN 's:' || COALESCE(NEW.topic, '') ELSE 'u:' || NEW.user_id END
                ELSE CASE WHEN NEW.user_id IS NULL THEN 'S' ELSE 'U' END || length(NEW.scope) || ':' || NEW.scope
                     || COALESCE(NEW.user_id, NEW.topic, '') END, t, NEW.id
      FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
  END $$`;
