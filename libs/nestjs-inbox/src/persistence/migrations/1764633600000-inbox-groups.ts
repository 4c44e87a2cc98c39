import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';
import { scopedStore } from './1764460800000-inbox-scopes';

/** SQL as written: the regular expressions below keep their backslashes. */
const sql = String.raw;

/** As InboxSqlPrivileges pins it: see there. */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/**
 * The indexes of a user's own rows, which every view, count, badge and catch-up walks: rebuilt
 * without the superseded rows (an item's earlier versions), so that none of them walks those.
 */
const DIRECT_INDEXES: { name: string; before: string; after: string }[] = [
  {
    name: 'inbox_notification_unread_idx',
    before: `INDEX inbox_notification_unread_idx ON inbox_notification (user_id, scope, tx_id) INCLUDE (id, expires_at) WHERE user_id IS NOT NULL AND read_at IS NULL`,
    after: `INDEX inbox_notification_unread_idx ON inbox_notification (user_id, scope, tx_id) INCLUDE (id, expires_at) WHERE user_id IS NOT NULL AND read_at IS NULL AND NOT superseded`,
  },
  {
    name: 'inbox_notification_user_archived_idx',
    before: `INDEX inbox_notification_user_archived_idx ON inbox_notification (user_id, scope, archived, id) WHERE user_id IS NOT NULL AND archived IS NOT NULL`,
    after: `INDEX inbox_notification_user_archived_idx ON inbox_notification (user_id, scope, archived, id) WHERE user_id IS NOT NULL AND archived IS NOT NULL AND NOT superseded`,
  },
  {
    name: 'inbox_notification_user_idx',
    before: `INDEX inbox_notification_user_idx ON inbox_notification (user_id, scope, id) INCLUDE (tx_id, created_at) WHERE user_id IS NOT NULL`,
    after: `INDEX inbox_notification_user_idx ON inbox_notification (user_id, scope, id) INCLUDE (tx_id, created_at) WHERE user_id IS NOT NULL AND NOT superseded`,
  },
  {
    name: 'inbox_notification_user_type_idx',
    before: `INDEX inbox_notification_user_type_idx ON inbox_notification (user_id, scope, type, id) WHERE user_id IS NOT NULL`,
    after: `INDEX inbox_notification_user_type_idx ON inbox_notification (user_id, scope, type, id) WHERE user_id IS NOT NULL AND NOT superseded`,
  },
];

/**
 * Issue 23: groups ("Alice and 2 others commented", docs/groups.md). A direct notification may
 * name a group (`group_key`); per (user, scope, key) the **item** is the newest row of a **run**,
 * the rows grouped while the item was unread and not deleted.
 *
 * - A grouped row carries its run (`group_run`, the run's first id), the run's `group_count` and
 *   latest distinct `group_actors` (at most 5, newest first), and `replaces`, the item it
 *   superseded (NULL when it starts a run). A superseded row keeps its state and content (the
 *   group's detail list shows it) but is in no view, count, badge or catch-up: the indexes those
 *   walk leave it out (DIRECT_INDEXES), and its tag rows go (inbox_notification_tag).
 * - inbox_group_lock serialises grouping into one (user, scope, key) with a transaction-level
 *   lock, taken in a statement before the one that reads the current item, so that under READ
 *   COMMITTED that statement sees what the previous holder committed: concurrent transactions
 *   never leave two unread items, nor lose a count; a rollback leaves the previous item current.
 * - inbox_group groups rows just stored (in the caller's transaction, after the lock): the
 *   current item is one probe of inbox_notification_group_idx.
 * - The SQL doors take `group` in the notification (SQLSTATE 22023 naming `notification.group`;
 *   refused on a broadcast or a publication).
 *
 * Adding the columns rewrites no table (NULL and constant defaults); the direct indexes are rebuilt.
 */
export class InboxGroups1764633600000 implements MigrationInterface {
  name = 'InboxGroups1764633600000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`ALTER TABLE ${s}.inbox_notification
      ADD COLUMN group_key varchar(200), ADD COLUMN group_run bigint, ADD COLUMN group_count int,
      ADD COLUMN group_actors jsonb, ADD COLUMN replaces bigint, ADD COLUMN superseded boolean NOT NULL DEFAULT false,
      ADD CONSTRAINT inbox_notification_group_check CHECK (group_key IS NULL OR (group_key <> '' AND user_id IS NOT NULL))`);
    for (const index of DIRECT_INDEXES) {
      await db.query(`DROP INDEX ${s}.${index.name}`);
      await db.query(`CREATE ${index.after.replace(' ON ', ` ON ${s}.`)}`);
    }
    // The current item of a group (its newest row), and the detail list (every row, newest first).
    await db.query(`CREATE INDEX inbox_notification_group_idx ON ${s}.inbox_notification
      (user_id, scope, group_key, id) WHERE group_key IS NOT NULL`);
    // A change to an item applies to its run.
    await db.query(`CREATE INDEX inbox_notification_group_run_idx ON ${s}.inbox_notification (group_run) WHERE group_run IS NOT NULL`);
    await db.query(groupLock(s));
    await db.query(group(s));
    await db.query(groupedStore(s));
    // Internal, like inbox_store: run by inbox_store (as the doors' owner) and by the library (on
    // the host's DataSource, the tables' owner); nobody else is granted them.
    await db.query(`REVOKE EXECUTE ON FUNCTION ${s}.inbox_group_lock(text[], text, text), ${s}.inbox_group(bigint[]) FROM PUBLIC`);
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    // Without the columns every superseded row would be an item again: they go.
    await db.query(`DELETE FROM ${s}.inbox_notification WHERE superseded`);
    await db.query(scopedStore(s));
    await db.query(`DROP FUNCTION ${s}.inbox_group(bigint[]), ${s}.inbox_group_lock(text[], text, text)`);
    await db.query(`DROP INDEX ${s}.inbox_notification_group_idx, ${s}.inbox_notification_group_run_idx`);
    for (const index of DIRECT_INDEXES) {
      await db.query(`DROP INDEX ${s}.${index.name}`);
      await db.query(`CREATE ${index.before.replace(' ON ', ` ON ${s}.`)}`);
    }
    await db.query(`ALTER TABLE ${s}.inbox_notification DROP CONSTRAINT inbox_notification_group_check,
      DROP COLUMN group_key, DROP COLUMN group_run, DROP COLUMN group_count, DROP COLUMN group_actors,
      DROP COLUMN replaces, DROP COLUMN superseded`);
  }
}

/**
 * Takes, for the rest of the transaction, the lock of group `key` in `scope` ('' unscoped) of
 * each of `users`, in one order (sorted), so that two calls for overlapping users cannot
 * deadlock. A two-key advisory lock (its own space, apart from the host's one-key locks): a hash
 * collision only makes two groups wait for each other. READ COMMITTED only: a transaction whose
 * snapshot is older than the lock (REPEATABLE READ, SERIALIZABLE) would not see the item the
 * previous holder committed.
 */
const groupLock = (s: string) => sql`
  CREATE FUNCTION ${s}.inbox_group_lock(users text[], scope text, key text) RETURNS void
  LANGUAGE plpgsql ${PINNED} AS $$
  DECLARE
    h int;
  BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
      RAISE EXCEPTION USING ERRCODE = '25000', MESSAGE = 'notification.group: grouping needs a READ COMMITTED transaction (the default), not '
        || upper(current_setting('transaction_isolation'));
    END IF;
    FOR h IN SELECT DISTINCT hashtext(u || chr(1) || scope || chr(1) || key) FROM unnest(users) u ORDER BY 1 LOOP
      PERFORM pg_advisory_xact_lock(1735289204, h);
    END LOOP;
  END $$`;

/**
 * Groups the rows `ids` just stored (each with a group_key and no run yet, oldest first; a row
 * already grouped is left alone, so a second call changes nothing), under inbox_group_lock:
 * the group's newest earlier row is its current item if the user has it unread and not deleted
 * (its own columns and the user's watermarks of its scope, as row-state.sql's DIRECT_ROW says)
 * and not expired; then the row joins its run and supersedes it, else it starts a run.
 * Returns each row's group columns.
 */
const group = (s: string) => sql`
  CREATE FUNCTION ${s}.inbox_group(ids bigint[])
    RETURNS TABLE (id bigint, group_run bigint, group_count int, group_actors jsonb, replaces bigint)
  LANGUAGE plpgsql ${PINNED} AS $$
  #variable_conflict use_column
  DECLARE
    r record;
    cur record;
    joins boolean;
  BEGIN
    FOR r IN SELECT n.id, n.user_id, n.scope, n.group_key, n.actor
               FROM ${s}.inbox_notification n
              WHERE n.id = ANY(ids) AND n.group_key IS NOT NULL AND n.group_run IS NULL ORDER BY n.id LOOP
      SELECT c.id, c.group_run, c.group_count, c.group_actors, c.superseded, c.read_at, c.deleted_at, c.tx_id, c.expires_at
        INTO cur FROM ${s}.inbox_notification c
       WHERE c.user_id = r.user_id AND c.scope = r.scope AND c.group_key = r.group_key AND c.id < r.id
       ORDER BY c.id DESC LIMIT 1;
      joins := FOUND AND NOT cur.superseded AND cur.group_run IS NOT NULL
        AND cur.read_at IS NULL AND cur.deleted_at IS NULL AND (cur.expires_at IS NULL OR cur.expires_at > now())
        AND NOT EXISTS (SELECT 1 FROM ${s}.inbox_user_state us WHERE us.user_id = r.user_id AND us.scope = r.scope
                           AND (cur.tx_id < us.direct_read_xmin OR cur.tx_id < us.direct_deleted_xmin));
      IF joins THEN
        UPDATE ${s}.inbox_notification SET superseded = true WHERE inbox_notification.id = cur.id;
        -- Out of the tag index the views walk too (the detail list tests the row's own tags).
        DELETE FROM ${s}.inbox_notification_tag t WHERE t.notification_id = cur.id;
        UPDATE ${s}.inbox_notification n
           SET group_run = cur.group_run, group_count = cur.group_count + 1, replaces = cur.id,
               group_actors = (
                 SELECT COALESCE(jsonb_agg(d.actor ORDER BY d.i), '[]'::jsonb) FROM (
                   SELECT f.actor, f.i FROM (
                     SELECT DISTINCT ON (k.k) e.actor, e.i
                       FROM jsonb_array_elements(jsonb_build_array(r.actor) || COALESCE(cur.group_actors, '[]'::jsonb))
                            WITH ORDINALITY AS e(actor, i)
                      CROSS JOIN LATERAL (SELECT COALESCE('i:' || (e.actor->>'id'), 'n:' || (e.actor->>'name'), e.actor::text) AS k) k
                      WHERE jsonb_typeof(e.actor) = 'object'
                      ORDER BY k.k, e.i) f
                    ORDER BY f.i LIMIT 5) d)
         WHERE n.id = r.id;
      ELSE
        UPDATE ${s}.inbox_notification n
           SET group_run = r.id, group_count = 1, replaces = NULL,
               group_actors = CASE WHEN jsonb_typeof(r.actor) = 'object' THEN jsonb_build_array(r.actor) ELSE '[]'::jsonb END
         WHERE n.id = r.id;
      END IF;
      RETURN QUERY SELECT n.id, n.group_run, n.group_count, n.group_actors, n.replaces
                     FROM ${s}.inbox_notification n WHERE n.id = r.id;
    END LOOP;
  END $$`;

/** InboxScopes' `inbox_store`, with `notification.group`: checked (direct notifications only), locked before the insert, stored, grouped after it (inbox_group). */
export const groupedStore = (s: string) => sql`
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
      IF NOT k = ANY (ARRAY['type', 'title', 'body', 'data', 'dedupeKey', 'expiresAt', 'url', 'actions', 'actor', 'tags', 'scope', 'group']) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.' || k
          || ': unknown field (expected type, title, body, data, dedupeKey, expiresAt, url, actions, actor, tags, scope, group)';
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
              tx_id, tx_horizon, via_sql)
      SELECT u.user_id, stream_topic, COALESCE(n->>'scope', ''), n->>'group', n->>'type', n->>'title', n->>'body',
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
    IF n->>'group' IS NOT NULL AND cardinality(ids) > 0 THEN
      PERFORM ${s}.inbox_group(ids);
    END IF;
    IF cardinality(ids) > 0 THEN
      PERFORM pg_notify('nestjs_inbox', '');
    END IF;
    RETURN ids;
  END $$`;
