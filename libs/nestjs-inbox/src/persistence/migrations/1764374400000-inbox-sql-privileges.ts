import type { MigrationInterface, QueryRunner } from 'typeorm';
import { STORE_WITH_PRESENTATION } from './1764201600000-inbox-presentation';

/** SQL as written: the regular expressions below keep their backslashes. */
const sql = String.raw;

/**
 * A caller's session decides nothing inside the functions: no schema it can write to is searched
 * (not even the inbox's own, which on Postgres 14 and older is `public`, writable by every role,
 * and an operator planted there with the exact argument types, e.g. `||(text, integer)` or
 * `?(jsonb, jsonb)` for `elem ? 'url'`, would win over pg_catalog's); the inbox's objects are
 * named with their schema, fixed when this migration runs. pg_temp last, so a temporary table
 * never shadows anything either.
 */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/** What a producer is granted, and nothing else is: `GRANT EXECUTE ON FUNCTION <these> TO app_role`. */
const SQL_PRODUCER_FUNCTIONS = [
  'inbox_notify(text[], jsonb)',
  'inbox_notify(text[], text)',
  'inbox_broadcast(jsonb)',
  'inbox_broadcast(text)',
  'inbox_publish(text, jsonb)',
  'inbox_publish(text, text)',
];

/** Called only by the functions above or by triggers: nobody is granted them. */
const INTERNAL_FUNCTIONS = [
  'inbox_store(text, text[], text, jsonb)',
  'inbox_actions_problem(jsonb)',
  'inbox_actor_problem(jsonb)',
  'inbox_parse_notification(text, text)',
  'inbox_unstorable_path(jsonb, text)',
  'inbox_assign_seq()',
  'inbox_tag_rows()',
];

/**
 * Issue 20: the SQL door runs with its own, pinned rights (docs: README, "Producers in other
 * languages", SQL).
 *
 * - `inbox_notify`, `inbox_broadcast`, `inbox_publish` are `SECURITY DEFINER`: they run as their
 *   owner, the role that ran the migrations, so a producer's role needs `EXECUTE` on them and no
 *   privilege on any table; `EXECUTE` is no longer granted to `PUBLIC`. Every function has its
 *   `search_path` pinned (PINNED) and names the inbox's tables and functions with their schema.
 * - The checks inside them are the only gate now: unchanged, plus `expiresAt` as the HTTP and
 *   RabbitMQ doors take it (ISO 8601 with an offset, so neither the caller's TimeZone nor words
 *   such as `infinity` or `tomorrow` decide it).
 * - Each takes the notification as `text` too. Postgres parses a `jsonb` argument before the
 *   function runs, so text it cannot store (`\u0000`, a lone UTF-16 surrogate) would fail there,
 *   SQLSTATE 22P02/22P05, with no field named; as text (what an untyped literal or parameter
 *   resolves to) it fails here with 22023 naming the field, e.g.
 *   `inbox_notify: notification.data.note: must not contain \u0000 or a lone UTF-16 surrogate`.
 * - `inbox.max_payload_bytes`: the server's value is the database's (`ALTER DATABASE app SET
 *   inbox.max_payload_bytes = 32768`, which only the database's owner can run), else 16384. A
 *   caller's own `SET` (or `ALTER ROLE`, or connection option) can lower it, never raise it.
 * - The commit-time trigger that numbers shared rows (`inbox_assign_seq`) runs as the caller
 *   when the transaction commits, outside the function: it is `SECURITY DEFINER` too.
 * - `inbox_notification` has CHECK constraints on `url`, `actions` and `actor` (linkChecks),
 *   so a row written around the functions (by a role with INSERT) cannot hold a `javascript:`
 *   link either. Existing rows that break them lose that field (set to NULL) when this
 *   migration runs: the row stays, its link does not.
 */
export class InboxSqlPrivileges1764374400000 implements MigrationInterface {
  name = 'InboxSqlPrivileges1764374400000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(urlProblem(s));
    await db.query(actionsProblem(s));
    await db.query(actorProblem(s));
    await db.query(store(s));
    await db.query(unstorablePath(s));
    await db.query(parseNotification(s));
    await db.query(doors(s));
    await db.query(assignSeq(s));
    await db.query(tagRows(s));

    // Rows written around the functions before: the unsafe field goes, the row stays.
    const checks = linkChecks(s);
    for (const [column, check] of Object.entries(checks)) {
      await db.query(`UPDATE ${s}.inbox_notification SET ${column} = NULL WHERE NOT (${check})`);
    }
    await db.query(`
      ALTER TABLE ${s}.inbox_notification
        ${Object.entries(checks)
          .map(([column, check]) => `ADD CONSTRAINT inbox_notification_${column}_check CHECK (${check})`)
          .join(', ')}`);

    // inbox_url_problem stays executable by everyone: a CHECK constraint runs it as the inserting role.
    const all = [...SQL_PRODUCER_FUNCTIONS, ...INTERNAL_FUNCTIONS].map((f) => `${s}.${f}`).join(', ');
    await db.query(`REVOKE EXECUTE ON FUNCTION ${all} FROM PUBLIC`);
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`
      ALTER TABLE ${s}.inbox_notification
        DROP CONSTRAINT inbox_notification_url_check,
        DROP CONSTRAINT inbox_notification_actions_check,
        DROP CONSTRAINT inbox_notification_actor_check`);
    await db.query(`
      DROP FUNCTION ${s}.inbox_notify(text[], text), ${s}.inbox_broadcast(text), ${s}.inbox_publish(text, text),
        ${s}.inbox_parse_notification(text, text), ${s}.inbox_unstorable_path(jsonb, text)`);
    // As the earlier migrations left them: CREATE OR REPLACE resets SECURITY DEFINER and SET.
    await db.query(STORE_WITH_PRESENTATION);
    await db.query(DOORS_BEFORE);
    await db.query(URL_PROBLEM_BEFORE);
    await db.query(ASSIGN_SEQ_BEFORE);
    await db.query(TAG_ROWS_BEFORE);
    await db.query(`DROP FUNCTION ${s}.inbox_actions_problem(jsonb), ${s}.inbox_actor_problem(jsonb)`);
    const before = [
      'inbox_notify(text[], jsonb)',
      'inbox_broadcast(jsonb)',
      'inbox_publish(text, jsonb)',
      'inbox_store(text, text[], text, jsonb)',
      'inbox_assign_seq()',
      'inbox_tag_rows()',
    ];
    await db.query(`GRANT EXECUTE ON FUNCTION ${before.map((f) => `${s}.${f}`).join(', ')} TO PUBLIC`);
  }
}

/** The schema the earlier migrations created the tables in (the migrating connection's first). */
export async function inboxSchema(db: QueryRunner): Promise<string> {
  const [{ nspname }] = await db.query(`
    SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = 'inbox_notification'::regclass`);
  return `"${String(nspname).replace(/"/g, '""')}"`;
}

/**
 * A JSON string that is not a link a browser may follow: InboxPresentation's rule (an http(s) URL
 * with a host, or a site-relative path; no control character, no backslash) in jsonpath. Its
 * length is the door's business (a size, not a danger).
 */
const UNSAFE_LINK = sql`(@.type() != "string" || !(@ like_regex "^(/([^/]|$)|https?://[^/?#[:space:]]+([/?#]|$))" flag "i") || @ like_regex "[\\\\\\x01-\\x1f\\x7f-\\x9f]")`;

/**
 * The CHECK constraints, by column: what the door lets through always passes them. The links of
 * `actions` and `actor` are checked with built-in functions only, which a constraint stores
 * resolved (no search_path when a row is written) and cheap per row: the door's PL/pgSQL checks
 * as constraints cost about 0.1 ms a row (a notify to 10,000 users took 2-3 times as long).
 */
export const linkChecks = (s: string) => ({
  url: `${s}.inbox_url_problem(url) IS NULL`,
  // CASE, not AND: jsonb_array_length and a strict path fail on a value of another type.
  actions: sql`actions IS NULL OR CASE jsonb_typeof(actions)
    WHEN 'null' THEN true
    WHEN 'array' THEN jsonb_array_length(actions) <= 3
      AND NOT jsonb_path_exists(actions, 'strict $[*] ? (@.type() != "object")')
      AND NOT jsonb_path_exists(actions, 'strict $[*] ? (exists (@.url)).url ? ${UNSAFE_LINK}')
    ELSE false END`,
  actor: sql`actor IS NULL OR CASE jsonb_typeof(actor)
    WHEN 'null' THEN true
    WHEN 'object' THEN NOT jsonb_path_exists(actor, 'strict $ ? (exists (@.avatarUrl)).avatarUrl ? ${UNSAFE_LINK}')
    ELSE false END`,
});

/** Why a link is unsafe, or NULL (InboxPresentation's, pinned; E'' strings whatever standard_conforming_strings says). */
const urlProblem = (s: string) => sql`
  CREATE OR REPLACE FUNCTION ${s}.inbox_url_problem(url text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT ${PINNED} AS $$
    SELECT CASE
      WHEN length(url) > 2048 THEN 'must be at most 2048 characters'
      WHEN url ~ E'[\\x01-\\x1f\\x7f-\\x9f]' THEN 'must not contain control characters'
      WHEN strpos(url, chr(92)) > 0 THEN 'must not contain backslashes'
      WHEN url ~ '^/([^/]|$)' OR url ~* E'^https?://[^/?#[:space:]]+([/?#]|$)' THEN NULL
      ELSE 'must be an http(s) URL or a site-relative path starting with a single /'
    END
  $$`;

/**
 * Why `actions` may not be stored, as the rest of a message after `notification.actions`
 * (`[1].url: must be …`, `: must be an array or null`), or NULL.
 */
const actionsProblem = (s: string) => sql`
  CREATE FUNCTION ${s}.inbox_actions_problem(actions jsonb) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT ${PINNED} AS $$
  DECLARE
    elem jsonb;
    pos int;
    k text;
    field text;
    problem text;
  BEGIN
    IF jsonb_typeof(actions) = 'null' THEN
      RETURN NULL;
    END IF;
    IF jsonb_typeof(actions) <> 'array' THEN
      RETURN ': must be an array or null';
    END IF;
    IF jsonb_array_length(actions) > 3 THEN
      RETURN ': must have at most 3 actions';
    END IF;
    FOR elem, pos IN SELECT x.e, x.i - 1 FROM jsonb_array_elements(actions) WITH ORDINALITY AS x(e, i) LOOP
      field := '[' || pos || ']';
      IF jsonb_typeof(elem) <> 'object' THEN
        RETURN field || ': must be a JSON object';
      END IF;
      FOR k IN SELECT jsonb_object_keys(elem) LOOP
        IF NOT k = ANY (ARRAY['label', 'url', 'event']) THEN
          RETURN field || '.' || k || ': unknown field (expected label, url, event)';
        END IF;
      END LOOP;
      IF jsonb_typeof(elem->'label') IS DISTINCT FROM 'string' OR elem->>'label' ~ '^[[:space:]]*$' THEN
        RETURN field || '.label: must be a non-empty string';
      END IF;
      IF length(elem->>'label') > 100 THEN
        RETURN field || '.label: must be at most 100 characters';
      END IF;
      IF elem ? 'url' THEN
        IF jsonb_typeof(elem->'url') <> 'string' THEN
          RETURN field || '.url: must be a string';
        END IF;
        problem := ${s}.inbox_url_problem(elem->>'url');
        IF problem IS NOT NULL THEN
          RETURN field || '.url: ' || problem;
        END IF;
      END IF;
      IF elem ? 'event' AND (jsonb_typeof(elem->'event') <> 'string' OR elem->>'event' !~ '^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$') THEN
        RETURN field || '.event: must be an event name: a letter or digit, then up to 99 letters, digits, or : . _ -';
      END IF;
      IF NOT (elem ? 'url' OR elem ? 'event') THEN
        RETURN field || ': needs a url, an event or both';
      END IF;
    END LOOP;
    RETURN NULL;
  END $$`;

/** Why `actor` may not be stored, as the rest of a message after `notification.actor`, or NULL. */
const actorProblem = (s: string) => sql`
  CREATE FUNCTION ${s}.inbox_actor_problem(actor jsonb) RETURNS text
  LANGUAGE plpgsql IMMUTABLE STRICT ${PINNED} AS $$
  DECLARE
    k text;
    problem text;
  BEGIN
    IF jsonb_typeof(actor) = 'null' THEN
      RETURN NULL;
    END IF;
    IF jsonb_typeof(actor) <> 'object' THEN
      RETURN ': must be a JSON object or null';
    END IF;
    FOR k IN SELECT jsonb_object_keys(actor) LOOP
      IF NOT k = ANY (ARRAY['id', 'name', 'avatarUrl']) THEN
        RETURN '.' || k || ': unknown field (expected id, name, avatarUrl)';
      END IF;
      IF jsonb_typeof(actor->k) <> 'string' THEN
        RETURN '.' || k || ': must be a string';
      END IF;
      IF k = 'avatarUrl' THEN
        problem := ${s}.inbox_url_problem(actor->>k);
        IF problem IS NOT NULL THEN
          RETURN '.' || k || ': ' || problem;
        END IF;
      ELSIF length(actor->>k) NOT BETWEEN 1 AND 255 THEN
        RETURN '.' || k || ': must be 1 to 255 characters';
      END IF;
    END LOOP;
    RETURN NULL;
  END $$`;

/**
 * InboxPresentation's `inbox_store`, its objects named with their schema, the payload limit
 * capped at the server's, `expiresAt` checked as the other doors check it, and the actions and
 * actor checked by the functions above.
 */
export const store = (s: string) => sql`
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
      IF NOT k = ANY (ARRAY['type', 'title', 'body', 'data', 'dedupeKey', 'expiresAt', 'url', 'actions', 'actor', 'tags']) THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.' || k
          || ': unknown field (expected type, title, body, data, dedupeKey, expiresAt, url, actions, actor, tags)';
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
             (user_id, topic, type, title, body, data, dedupe_key, expires_at, url, actions, actor, tags,
              tx_id, tx_horizon, via_sql)
      SELECT u.user_id, stream_topic, n->>'type', n->>'title', n->>'body',
             CASE WHEN jsonb_typeof(n->'data') = 'object' THEN n->'data' END,
             n->>'dedupeKey', expires, n->>'url',
             CASE WHEN jsonb_typeof(n->'actions') = 'array' AND jsonb_array_length(n->'actions') > 0 THEN n->'actions' END,
             CASE WHEN jsonb_typeof(n->'actor') = 'object' THEN n->'actor' END,
             CASE WHEN jsonb_typeof(n->'tags') = 'array'
                  THEN ARRAY(SELECT t.e FROM jsonb_array_elements_text(n->'tags') WITH ORDINALITY AS t(e, i) ORDER BY t.i)
                  ELSE '{}'::text[] END,
             tx.tx_id, tx.tx_horizon, true
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
  END $$`;

/**
 * A `\uXXXX` escape Postgres cannot turn into text, in a string where parseNotification marked
 * every escape with U+0001 (which JSON cannot hold raw): `\u0000`, a high surrogate not followed
 * by a low one, a low one not preceded by a high one.
 */
const UNSTORABLE_ESCAPE = sql`E'\\x01(0000|[dD][89abAB][0-9a-fA-F]{2}(?!\\x01[dD][c-fC-F])|(?<![\\x01][dD][89abAB][0-9a-fA-F]{2}\\x01)[dD][c-fC-F][0-9a-fA-F]{2})'`;

/** The JSON path (`notification.data.note`, `….actions[0].label`) of the first such string or key, or NULL. */
const unstorablePath = (s: string) => sql`
  CREATE FUNCTION ${s}.inbox_unstorable_path(v jsonb, path text) RETURNS text
  LANGUAGE plpgsql IMMUTABLE ${PINNED} AS $$
  DECLARE
    k text;
    e jsonb;
    i bigint;
    found text;
  BEGIN
    CASE jsonb_typeof(v)
    WHEN 'string' THEN
      IF (v #>> '{}') ~ ${UNSTORABLE_ESCAPE} THEN
        RETURN path;
      END IF;
    WHEN 'object' THEN
      FOR k, e IN SELECT x.key, x.value FROM jsonb_each(v) AS x LOOP
        IF k ~ ${UNSTORABLE_ESCAPE} THEN
          RETURN path || '.' || replace(k, chr(1), E'\\u');
        END IF;
        found := ${s}.inbox_unstorable_path(e, path || '.' || replace(k, chr(1), E'\\u'));
        IF found IS NOT NULL THEN
          RETURN found;
        END IF;
      END LOOP;
    WHEN 'array' THEN
      FOR e, i IN SELECT x.e, x.i - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x(e, i) LOOP
        found := ${s}.inbox_unstorable_path(e, path || '[' || i || ']');
        IF found IS NOT NULL THEN
          RETURN found;
        END IF;
      END LOOP;
    ELSE
      NULL;
    END CASE;
    RETURN NULL;
  END $$`;

/**
 * The text form's notification as jsonb, or 22023 naming what is wrong: the field whose text
 * Postgres cannot store, else that it is not JSON. To find the field, every `\u` escape (one not
 * itself escaped: after an even number of backslashes) becomes U+0001 and its four digits, which
 * parse; then the walk above finds the string.
 */
const parseNotification = (s: string) => sql`
  CREATE FUNCTION ${s}.inbox_parse_notification(fn text, notification text) RETURNS jsonb
  LANGUAGE plpgsql IMMUTABLE ${PINNED} AS $$
  DECLARE
    why text;
    detail text;
    path text;
  BEGIN
    IF notification IS NULL THEN
      RETURN NULL;
    END IF;
    BEGIN
      RETURN notification::jsonb;
    EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN
      GET STACKED DIAGNOSTICS why = MESSAGE_TEXT, detail = PG_EXCEPTION_DETAIL;
    END;
    BEGIN
      path := ${s}.inbox_unstorable_path(
        regexp_replace(notification, E'(^|[^\\\\])((\\\\\\\\)*)\\\\u', E'\\1\\2\\\\u0001', 'g')::jsonb, 'notification');
    EXCEPTION WHEN invalid_text_representation OR untranslatable_character THEN
      path := NULL;
    END;
    IF path IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': ' || path
        || E': must not contain \\u0000 or a lone UTF-16 surrogate (Postgres cannot store them)';
    END IF;
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification: not JSON: ' || why
      || COALESCE(' (' || NULLIF(detail, '') || ')', '');
  END $$`;

/** The three doors, as SECURITY DEFINER, each in a jsonb and a text form. */
const doors = (s: string) => sql`
  CREATE OR REPLACE FUNCTION ${s}.inbox_notify(recipients text[], notification jsonb) RETURNS bigint[]
  LANGUAGE sql SECURITY DEFINER ${PINNED} AS $$
    SELECT ${s}.inbox_store('inbox_notify'::text, COALESCE(recipients, '{}'::text[]), NULL::text, notification)
  $$;
  CREATE FUNCTION ${s}.inbox_notify(recipients text[], notification text) RETURNS bigint[]
  LANGUAGE sql SECURITY DEFINER ${PINNED} AS $$
    SELECT ${s}.inbox_store('inbox_notify'::text, COALESCE(recipients, '{}'::text[]), NULL::text,
                            ${s}.inbox_parse_notification('inbox_notify'::text, notification))
  $$;
  CREATE OR REPLACE FUNCTION ${s}.inbox_broadcast(notification jsonb) RETURNS bigint[]
  LANGUAGE sql SECURITY DEFINER ${PINNED} AS $$
    SELECT ${s}.inbox_store('inbox_broadcast'::text, NULL::text[], NULL::text, notification)
  $$;
  CREATE FUNCTION ${s}.inbox_broadcast(notification text) RETURNS bigint[]
  LANGUAGE sql SECURITY DEFINER ${PINNED} AS $$
    SELECT ${s}.inbox_store('inbox_broadcast'::text, NULL::text[], NULL::text,
                            ${s}.inbox_parse_notification('inbox_broadcast'::text, notification))
  $$;
  CREATE OR REPLACE FUNCTION ${s}.inbox_publish(topic text, notification jsonb) RETURNS bigint[]
  LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
  BEGIN
    IF topic IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'inbox_publish: topic: must be a topic of 1 to 255 characters, without surrounding whitespace';
    END IF;
    RETURN ${s}.inbox_store('inbox_publish'::text, NULL::text[], topic, notification);
  END $$;
  CREATE FUNCTION ${s}.inbox_publish(topic text, notification text) RETURNS bigint[]
  LANGUAGE sql SECURITY DEFINER ${PINNED} AS $$
    SELECT ${s}.inbox_publish(topic, ${s}.inbox_parse_notification('inbox_publish'::text, notification))
  $$`;

/**
 * InboxStates' trigger, as the owner: it runs at COMMIT, after the door returned, as whoever
 * commits (a producer with no privilege on the tables, with its own search_path).
 */
export const assignSeq = (s: string) => sql`
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
    INSERT INTO ${s}.inbox_stream AS st (stream, seq) VALUES (COALESCE(NEW.topic, ''), 1)
    ON CONFLICT (stream) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_seq;
    INSERT INTO ${s}.inbox_stream_type AS st (stream, type, seq) VALUES (COALESCE(NEW.topic, ''), NEW.type, 1)
    ON CONFLICT (stream, type) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_type_seq;
    UPDATE ${s}.inbox_notification SET seq = next_seq, type_seq = next_type_seq, late = EXISTS (
             SELECT 1 FROM ${s}.inbox_notification o
              WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                AND o.id > NEW.id AND o.seq < next_seq)
     WHERE id = NEW.id;
    RETURN NULL;
  END $$`;

/** InboxStates' tag trigger: it fires inside the door, under the pinned search_path, so it names its table. */
export const tagRows = (s: string) => sql`
  CREATE OR REPLACE FUNCTION ${s}.inbox_tag_rows() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
  BEGIN
    INSERT INTO ${s}.inbox_notification_tag (owner, tag, notification_id)
    SELECT CASE WHEN NEW.user_id IS NULL THEN 's:' || COALESCE(NEW.topic, '') ELSE 'u:' || NEW.user_id END, t, NEW.id
      FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
  END $$`;

/** InboxSqlProducers' doors, for `down`. */
const DOORS_BEFORE = `
  CREATE OR REPLACE FUNCTION inbox_notify(recipients text[], notification jsonb) RETURNS bigint[]
  LANGUAGE sql AS $$
    SELECT inbox_store('inbox_notify', COALESCE(recipients, '{}'), NULL, notification)
  $$;
  CREATE OR REPLACE FUNCTION inbox_broadcast(notification jsonb) RETURNS bigint[]
  LANGUAGE sql AS $$ SELECT inbox_store('inbox_broadcast', NULL, NULL, notification) $$;
  CREATE OR REPLACE FUNCTION inbox_publish(topic text, notification jsonb) RETURNS bigint[]
  LANGUAGE plpgsql AS $$
  BEGIN
    IF topic IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'inbox_publish: topic: must be a topic of 1 to 255 characters, without surrounding whitespace';
    END IF;
    RETURN inbox_store('inbox_publish', NULL, topic, notification);
  END $$`;

/** InboxPresentation's `inbox_url_problem`, for `down`. */
const URL_PROBLEM_BEFORE = `
  CREATE OR REPLACE FUNCTION inbox_url_problem(url text) RETURNS text
  LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT CASE
      WHEN length(url) > 2048 THEN 'must be at most 2048 characters'
      WHEN url ~ '[\\x01-\\x1f\\x7f-\\x9f]' THEN 'must not contain control characters'
      WHEN strpos(url, chr(92)) > 0 THEN 'must not contain backslashes'
      WHEN url ~ '^/([^/]|$)' OR url ~* '^https?://[^/?#[:space:]]+([/?#]|$)' THEN NULL
      ELSE 'must be an http(s) URL or a site-relative path starting with a single /'
    END
  $$`;

/** InboxStates' `inbox_assign_seq`, for `down`. */
const ASSIGN_SEQ_BEFORE = `
  CREATE OR REPLACE FUNCTION inbox_assign_seq() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE
    next_seq bigint;
    next_type_seq bigint;
  BEGIN
    -- Deleted again in its own transaction: no position, so the stream stays gapless.
    PERFORM 1 FROM inbox_notification WHERE id = NEW.id;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    INSERT INTO inbox_stream AS st (stream, seq) VALUES (COALESCE(NEW.topic, ''), 1)
    ON CONFLICT (stream) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_seq;
    INSERT INTO inbox_stream_type AS st (stream, type, seq) VALUES (COALESCE(NEW.topic, ''), NEW.type, 1)
    ON CONFLICT (stream, type) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_type_seq;
    UPDATE inbox_notification SET seq = next_seq, type_seq = next_type_seq, late = EXISTS (
             SELECT 1 FROM inbox_notification o
              WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                AND o.id > NEW.id AND o.seq < next_seq)
     WHERE id = NEW.id;
    RETURN NULL;
  END $$`;

/** InboxStates' `inbox_tag_rows`, for `down`. */
const TAG_ROWS_BEFORE = `
  CREATE OR REPLACE FUNCTION inbox_tag_rows() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO inbox_notification_tag (owner, tag, notification_id)
    SELECT CASE WHEN NEW.user_id IS NULL THEN 's:' || COALESCE(NEW.topic, '') ELSE 'u:' || NEW.user_id END, t, NEW.id
      FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
  END $$`;
