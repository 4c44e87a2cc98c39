import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What an inbox shows besides the text (issue 13): where a click goes (`url`), up to 3 buttons
 * (`actions`), who caused it (`actor`) and up to 10 `tags` for views. The SQL functions of
 * InboxSqlProducers take them too (JSON-named: `url`, `actions`, `actor` with `avatarUrl`,
 * `tags`) and check them as the service does (validation/schemas), with an SQL error naming the
 * field (SQLSTATE 22023) and nothing stored:
 *
 * - a link (`url`, an action's `url`, `actor.avatarUrl`) is `http(s)://host…` or a site-relative
 *   path (`/…`, not `//…`), with no backslash and no control character, at most 2048 characters:
 *   never `javascript:` or `data:` (`inbox_url_problem`);
 * - an action is `{ label, url?, event? }` with a url, an event or both; an event matches
 *   `^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$`; at most 3 (`MAX_ACTIONS`);
 * - `actor` is `{ id?, name?, avatarUrl? }`, id and name of 1 to 255 characters;
 * - tags are distinct strings of 1 to 64 characters, at most 10 (`MAX_TAGS`);
 * - they count towards the payload limit, with title, body and data.
 *
 * No actions are stored as NULL, no tags as `{}`. The limits are written out here, not read from
 * protocol.ts: a migration that ran does not change when a constant does.
 */
export class InboxPresentation1764201600000 implements MigrationInterface {
  name = 'InboxPresentation1764201600000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE inbox_notification
        ADD COLUMN url text,
        ADD COLUMN actions jsonb,
        ADD COLUMN actor jsonb,
        ADD COLUMN tags text[] NOT NULL DEFAULT '{}'`);
    await db.query(`
      CREATE FUNCTION inbox_url_problem(url text) RETURNS text
      LANGUAGE sql IMMUTABLE STRICT AS $$
        SELECT CASE
          WHEN length(url) > 2048 THEN 'must be at most 2048 characters'
          WHEN url ~ '[\\x01-\\x1f\\x7f-\\x9f]' THEN 'must not contain control characters'
          WHEN strpos(url, chr(92)) > 0 THEN 'must not contain backslashes'
          WHEN url ~ '^/([^/]|$)' OR url ~* '^https?://[^/?#[:space:]]+([/?#]|$)' THEN NULL
          ELSE 'must be an http(s) URL or a site-relative path starting with a single /'
        END
      $$`);
    await db.query(STORE_WITH_PRESENTATION);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(STORE_BEFORE);
    await db.query(`DROP FUNCTION inbox_url_problem(text)`);
    await db.query(`
      ALTER TABLE inbox_notification
        DROP COLUMN url, DROP COLUMN actions, DROP COLUMN actor, DROP COLUMN tags`);
  }
}

/** InboxSqlProducers' `inbox_store`, with the presentation fields checked and stored. */
export const STORE_WITH_PRESENTATION = `
  CREATE OR REPLACE FUNCTION inbox_store(fn text, recipients text[], stream_topic text, n jsonb) RETURNS bigint[]
  LANGUAGE plpgsql AS $$
  DECLARE
    k text;
    r text;
    i int := 0;
    expires timestamptz;
    max_bytes int := COALESCE(NULLIF(current_setting('inbox.max_payload_bytes', true), '')::int, 16384);
    size int;
    ids bigint[];
    elem jsonb;
    pos int;
    field text;
    problem text;
  BEGIN
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
        expires := (n->>'expiresAt')::timestamptz;
      EXCEPTION WHEN others THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: not a date-time: ' || left(n->>'expiresAt', 40);
      END;
      IF expires <= now() THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.expiresAt: must be in the future';
      END IF;
    END IF;

    IF COALESCE(jsonb_typeof(n->'url'), 'null') NOT IN ('string', 'null') THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.url: must be a string or null';
    END IF;
    problem := inbox_url_problem(n->>'url');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.url: ' || problem;
    END IF;

    IF COALESCE(jsonb_typeof(n->'actions'), 'null') NOT IN ('array', 'null') THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.actions: must be an array or null';
    END IF;
    IF jsonb_typeof(n->'actions') = 'array' THEN
      IF jsonb_array_length(n->'actions') > 3 THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.actions: must have at most 3 actions';
      END IF;
      FOR elem, pos IN SELECT x.e, x.i - 1 FROM jsonb_array_elements(n->'actions') WITH ORDINALITY AS x(e, i) LOOP
        field := fn || ': notification.actions[' || pos || ']';
        IF jsonb_typeof(elem) <> 'object' THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': must be a JSON object';
        END IF;
        FOR k IN SELECT jsonb_object_keys(elem) LOOP
          IF NOT k = ANY (ARRAY['label', 'url', 'event']) THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.' || k || ': unknown field (expected label, url, event)';
          END IF;
        END LOOP;
        IF jsonb_typeof(elem->'label') IS DISTINCT FROM 'string' OR elem->>'label' ~ '^[[:space:]]*$' THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.label: must be a non-empty string';
        END IF;
        IF length(elem->>'label') > 100 THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.label: must be at most 100 characters';
        END IF;
        IF elem ? 'url' THEN
          IF jsonb_typeof(elem->'url') <> 'string' THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.url: must be a string';
          END IF;
          problem := inbox_url_problem(elem->>'url');
          IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || '.url: ' || problem;
          END IF;
        END IF;
        IF elem ? 'event' AND (jsonb_typeof(elem->'event') <> 'string' OR elem->>'event' !~ '^[A-Za-z0-9][A-Za-z0-9:._-]{0,99}$') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field
            || '.event: must be an event name: a letter or digit, then up to 99 letters, digits, or : . _ -';
        END IF;
        IF NOT (elem ? 'url' OR elem ? 'event') THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': needs a url, an event or both';
        END IF;
      END LOOP;
    END IF;

    IF COALESCE(jsonb_typeof(n->'actor'), 'null') NOT IN ('object', 'null') THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.actor: must be a JSON object or null';
    END IF;
    IF jsonb_typeof(n->'actor') = 'object' THEN
      FOR k IN SELECT jsonb_object_keys(n->'actor') LOOP
        field := fn || ': notification.actor.' || k;
        IF NOT k = ANY (ARRAY['id', 'name', 'avatarUrl']) THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': unknown field (expected id, name, avatarUrl)';
        END IF;
        IF jsonb_typeof(n->'actor'->k) <> 'string' THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': must be a string';
        END IF;
        IF k = 'avatarUrl' THEN
          problem := inbox_url_problem(n->'actor'->>k);
          IF problem IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': ' || problem;
          END IF;
        ELSIF length(n->'actor'->>k) NOT BETWEEN 1 AND 255 THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = field || ': must be 1 to 255 characters';
        END IF;
      END LOOP;
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
      INSERT INTO inbox_notification AS x
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

/** `inbox_store` as InboxSqlProducers created it, for `down`. */
const STORE_BEFORE = `
  CREATE OR REPLACE FUNCTION inbox_store(fn text, recipients text[], stream_topic text, n jsonb) RETURNS bigint[]
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
  END $$`;
