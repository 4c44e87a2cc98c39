-- The schema nestjs-inbox's migrations leave, after the last one: pg_dump -s --no-owner
-- --no-privileges of a freshly migrated database, without SET lines and pg_dump's comments.
-- Generated: do not edit. After adding a migration, run `npm run schema:dump` and commit
-- the difference (test/states/schema.e2e-spec.ts checks it).

CREATE FUNCTION public.inbox_actions_problem(actions jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
        problem := "public".inbox_url_problem(elem->>'url');
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
  END $_$;

CREATE FUNCTION public.inbox_actions_safe(actions jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET standard_conforming_strings TO 'on'
    AS $_$
        BEGIN
          RETURN actions IS NULL OR CASE jsonb_typeof(actions)
    WHEN 'null' THEN true
    WHEN 'array' THEN jsonb_array_length(actions) <= 3
      AND NOT jsonb_path_exists(actions, 'strict $[*] ? (@.type() != "object")')
      AND NOT jsonb_path_exists(actions, 'strict $[*] ? (exists (@.url)).url ? (@.type() != "string" || !(@ like_regex "^(/([^/]|$)|https?://[^/?#[:space:]]+([/?#]|$))" flag "i") || @ like_regex "[\\\\\\x01-\\x1f\\x7f-\\x9f]")')
    ELSE false END;
        END $_$;

CREATE FUNCTION public.inbox_actor_problem(actor jsonb) RETURNS text
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
        problem := "public".inbox_url_problem(actor->>k);
        IF problem IS NOT NULL THEN
          RETURN '.' || k || ': ' || problem;
        END IF;
      ELSIF length(actor->>k) NOT BETWEEN 1 AND 255 THEN
        RETURN '.' || k || ': must be 1 to 255 characters';
      END IF;
    END LOOP;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_actor_safe(actor jsonb) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET standard_conforming_strings TO 'on'
    AS $_$
        BEGIN
          RETURN actor IS NULL OR CASE jsonb_typeof(actor)
    WHEN 'null' THEN true
    WHEN 'object' THEN NOT jsonb_path_exists(actor, 'strict $ ? (exists (@.avatarUrl)).avatarUrl ? (@.type() != "string" || !(@ like_regex "^(/([^/]|$)|https?://[^/?#[:space:]]+([/?#]|$))" flag "i") || @ like_regex "[\\\\\\x01-\\x1f\\x7f-\\x9f]")')
    ELSE false END;
        END $_$;

CREATE FUNCTION public.inbox_assign_seq() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  DECLARE
    next_seq bigint;
    next_type_seq bigint;
  BEGIN
    -- Deleted again in its own transaction: no position, so the stream stays gapless.
    PERFORM 1 FROM "public".inbox_notification WHERE id = NEW.id;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    INSERT INTO "public".inbox_stream AS st (stream, scope, seq) VALUES (COALESCE(NEW.topic, ''), NEW.scope, 1)
    ON CONFLICT (stream, scope) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_seq;
    INSERT INTO "public".inbox_stream_type AS st (stream, scope, type, seq) VALUES (COALESCE(NEW.topic, ''), NEW.scope, NEW.type, 1)
    ON CONFLICT (stream, scope, type) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_type_seq;
    -- In id order from NEW.id, the only order an index serves cheaply: a generic plan must not
    -- read the stream's positions from its first one (InboxLateCheckPlan).
    UPDATE "public".inbox_notification SET seq = next_seq, type_seq = next_type_seq, late = COALESCE((
             SELECT true FROM "public".inbox_notification o
              WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                AND o.scope = NEW.scope
                AND o.id > NEW.id AND o.seq < next_seq
              ORDER BY o.id LIMIT 1), false)
     WHERE id = NEW.id;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_broadcast(notification jsonb) RETURNS bigint[]
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT "public".inbox_store('inbox_broadcast'::text, NULL::text[], NULL::text, notification)
  $$;

CREATE FUNCTION public.inbox_broadcast(notification text) RETURNS bigint[]
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT "public".inbox_store('inbox_broadcast'::text, NULL::text[], NULL::text,
                            "public".inbox_parse_notification('inbox_broadcast'::text, notification))
  $$;

CREATE FUNCTION public.inbox_cancel_direct_sends() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  BEGIN
    WITH changed AS (
      SELECT n.id AS notification_id, n.user_id, n.read_at, n.deleted_at FROM new_rows n
      JOIN old_rows o ON o.id = n.id
       WHERE n.user_id IS NOT NULL AND ((o.seen_at IS NULL AND n.seen_at IS NOT NULL) OR (o.read_at IS NULL AND n.read_at IS NOT NULL)
             OR (o.deleted_at IS NULL AND n.deleted_at IS NOT NULL))
    ), cancelled AS (
      UPDATE "public".inbox_channel_send c SET status = 'cancelled', updated_at = now()
        FROM changed n
       WHERE c.notification_id = n.notification_id AND c.user_id = n.user_id AND c.status = 'pending'
         AND (n.read_at IS NOT NULL OR n.deleted_at IS NOT NULL OR c.until = 'seen')
      RETURNING c.user_id, c.scope, c.channel, c.notification_id, c.attempts,
                CASE WHEN n.deleted_at IS NOT NULL THEN 'deleted' WHEN n.read_at IS NOT NULL THEN 'read' ELSE 'seen' END AS reason
    )
    INSERT INTO "public".inbox_channel_log (user_id, scope, channel, notification_ids, outcome, reason, attempt)
    SELECT user_id, scope, channel, ARRAY[notification_id], 'cancelled', reason, attempts FROM cancelled;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_cancel_new_receipt_sends() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  BEGIN
    WITH changed AS (
      SELECT n.notification_id AS notification_id, n.user_id, n.read_at, n.deleted_at FROM new_rows n
      WHERE n.seen_at IS NOT NULL OR n.read_at IS NOT NULL OR n.deleted_at IS NOT NULL
    ), cancelled AS (
      UPDATE "public".inbox_channel_send c SET status = 'cancelled', updated_at = now()
        FROM changed n
       WHERE c.notification_id = n.notification_id AND c.user_id = n.user_id AND c.status = 'pending'
         AND (n.read_at IS NOT NULL OR n.deleted_at IS NOT NULL OR c.until = 'seen')
      RETURNING c.user_id, c.scope, c.channel, c.notification_id, c.attempts,
                CASE WHEN n.deleted_at IS NOT NULL THEN 'deleted' WHEN n.read_at IS NOT NULL THEN 'read' ELSE 'seen' END AS reason
    )
    INSERT INTO "public".inbox_channel_log (user_id, scope, channel, notification_ids, outcome, reason, attempt)
    SELECT user_id, scope, channel, ARRAY[notification_id], 'cancelled', reason, attempts FROM cancelled;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_cancel_receipt_sends() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  BEGIN
    WITH changed AS (
      SELECT n.notification_id AS notification_id, n.user_id, n.read_at, n.deleted_at FROM new_rows n
      JOIN old_rows o ON o.user_id = n.user_id AND o.notification_id = n.notification_id
       WHERE n.user_id IS NOT NULL AND ((o.seen_at IS NULL AND n.seen_at IS NOT NULL) OR (o.read_at IS NULL AND n.read_at IS NOT NULL)
             OR (o.deleted_at IS NULL AND n.deleted_at IS NOT NULL))
    ), cancelled AS (
      UPDATE "public".inbox_channel_send c SET status = 'cancelled', updated_at = now()
        FROM changed n
       WHERE c.notification_id = n.notification_id AND c.user_id = n.user_id AND c.status = 'pending'
         AND (n.read_at IS NOT NULL OR n.deleted_at IS NOT NULL OR c.until = 'seen')
      RETURNING c.user_id, c.scope, c.channel, c.notification_id, c.attempts,
                CASE WHEN n.deleted_at IS NOT NULL THEN 'deleted' WHEN n.read_at IS NOT NULL THEN 'read' ELSE 'seen' END AS reason
    )
    INSERT INTO "public".inbox_channel_log (user_id, scope, channel, notification_ids, outcome, reason, attempt)
    SELECT user_id, scope, channel, ARRAY[notification_id], 'cancelled', reason, attempts FROM cancelled;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_channel_engagement(since timestamp with time zone, until timestamp with time zone DEFAULT now()) RETURNS TABLE(type character varying, channel character varying, planned bigint, pending bigint, sent bigint, skipped bigint, failed bigint, cancelled bigint, avg_seconds_to_send double precision)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $$
WITH bounds AS (
  SELECT "public".inbox_first_id_at(since) AS lo, "public".inbox_first_id_at(until) AS hi
)
SELECT n.type, c.channel, count(*),
       count(*) FILTER (WHERE c.status IN ('pending', 'sending')),
       count(*) FILTER (WHERE c.status = 'sent'),
       count(*) FILTER (WHERE c.status = 'skipped'),
       count(*) FILTER (WHERE c.status = 'failed'),
       count(*) FILTER (WHERE c.status = 'cancelled'),
       (avg(GREATEST(0, extract(epoch FROM c.updated_at - n.created_at))) FILTER (WHERE c.status = 'sent'))::double precision
  FROM bounds b
  JOIN "public".inbox_notification n ON n.id >= b.lo AND n.id < b.hi
  JOIN "public".inbox_channel_send c ON c.notification_id = n.id AND c.notification_id >= b.lo AND c.notification_id < b.hi
 GROUP BY 1, 2
 ORDER BY 1, 2
$$;

CREATE FUNCTION public.inbox_engagement(since timestamp with time zone, until timestamp with time zone DEFAULT now()) RETURNS TABLE(type character varying, kind text, stored bigint, audience bigint, delivered_live bigint, seen bigint, read bigint, avg_seconds_to_read double precision)
    LANGUAGE sql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    SET jit TO 'off'
    AS $$
WITH rates (type, kind, stored, audience, seen, read, avg_seconds_to_read) AS (
WITH bounds AS (
  SELECT "public".inbox_first_id_at(since) AS lo, "public".inbox_first_id_at(until) AS hi
), win AS (
  SELECT n.id, n.user_id, n.topic, n.scope, n.type, n.created_at, n.read_at, n.seen_at, n.tx_id, n.seq
    FROM bounds b JOIN "public".inbox_notification n ON n.id >= b.lo AND n.id < b.hi
), direct AS (
  SELECT w.type, count(*) AS stored, count(*) AS audience,
         count(*) FILTER (WHERE w.read_at IS NOT NULL OR w.seen_at IS NOT NULL
                             OR w.tx_id < GREATEST(COALESCE(us.direct_read_xmin, 0), COALESCE(us.direct_seen_xmin, 0))) AS seen,
         count(*) FILTER (WHERE w.read_at IS NOT NULL OR w.tx_id < COALESCE(us.direct_read_xmin, 0)) AS read,
         sum(GREATEST(0, extract(epoch FROM t.read_time - w.created_at))) AS read_seconds,
         count(t.read_time) AS read_timed
    FROM win w
    LEFT JOIN "public".inbox_user_state us ON us.user_id = w.user_id AND us.scope = w.scope
    CROSS JOIN LATERAL (
      SELECT COALESCE(w.read_at, CASE WHEN w.tx_id < us.direct_read_xmin THEN us.read_all_at END) AS read_time
    ) t
   WHERE w.user_id IS NOT NULL
   GROUP BY w.type
), shared AS (
  SELECT w.id, w.type, w.topic, w.scope, w.seq, w.created_at FROM win w WHERE w.user_id IS NULL
), b_first AS (
  -- Per scope (each scope's broadcasts are a stream of their own): its first broadcast in the window.
  SELECT scope, min(seq) AS seq FROM shared WHERE topic IS NULL GROUP BY scope
), b_read AS (
  -- Users by broadcast read position, from the window's first broadcast up: one pass over the users' states.
  SELECT us.scope, us.broadcast_read_seq AS pos, count(*) AS users,
         sum(extract(epoch FROM us.read_all_at)) AS at_sum, count(us.read_all_at) AS timed
    FROM "public".inbox_user_state us JOIN b_first f ON f.scope = us.scope
   WHERE us.broadcast_read_seq >= f.seq
   GROUP BY 1, 2
), b_seen AS MATERIALIZED (
  SELECT us.scope, GREATEST(us.broadcast_read_seq, us.broadcast_seen_seq) AS pos, count(*) AS users
    FROM "public".inbox_user_state us JOIN b_first f ON f.scope = us.scope
   WHERE GREATEST(us.broadcast_read_seq, us.broadcast_seen_seq) >= f.seq
   GROUP BY 1, 2
), t_sub AS (
  -- The subscriptions of the window's topics. A publication at position p reaches those with
  -- from_seq < p; of them, a watermark covers those whose position (never below from_seq) is >= p:
  -- count(position >= p) - count(from_seq >= p), each a sum over groups by position.
  -- A stream is (topic, scope): a subscription is to one scope's publications of its topic.
  SELECT sub.topic, sub.scope, sub.from_seq, GREATEST(sub.read_seq, sub.from_seq) AS read_pos,
         GREATEST(sub.read_seq, sub.seen_seq, sub.from_seq) AS seen_pos, extract(epoch FROM us.read_all_at) AS read_all
    FROM "public".inbox_subscription sub
    LEFT JOIN "public".inbox_user_state us ON us.user_id = sub.user_id AND us.scope = sub.scope
   WHERE (sub.topic, sub.scope) IN (SELECT DISTINCT topic, scope FROM shared WHERE topic IS NOT NULL)
), t_from AS (
  SELECT topic, scope, from_seq AS pos, count(*) AS users, sum(read_all) AS at_sum, count(read_all) AS timed FROM t_sub GROUP BY 1, 2, 3
), t_read AS (
  SELECT topic, scope, read_pos AS pos, count(*) AS users, sum(read_all) AS at_sum, count(read_all) AS timed FROM t_sub GROUP BY 1, 2, 3
), t_seen AS MATERIALIZED (
  SELECT topic, scope, seen_pos AS pos, count(*) AS users FROM t_sub GROUP BY 1, 2, 3
), per_shared AS (
  SELECT sh.type, CASE WHEN sh.topic IS NULL THEN 'broadcast' ELSE 'topic' END AS kind,
         wm.audience, wm.read_users + rc.read_extra AS read, wm.seen_users + rc.seen_extra AS seen,
         COALESCE(wm.read_at_sum - wm.read_timed * extract(epoch FROM sh.created_at), 0) + rc.read_extra_seconds AS read_seconds,
         wm.read_timed + rc.read_extra_timed AS read_timed
    FROM shared sh
    CROSS JOIN LATERAL (
      SELECT CASE WHEN sh.topic IS NULL THEN NULL
                  ELSE (SELECT COALESCE(sum(f.users), 0) FROM t_from f WHERE f.topic = sh.topic AND f.scope = sh.scope AND f.pos < sh.seq) END AS audience,
             CASE WHEN sh.topic IS NULL THEN (SELECT COALESCE(sum(r.users), 0) FROM b_read r WHERE r.scope = sh.scope AND r.pos >= sh.seq)
                  ELSE (SELECT COALESCE(sum(r.users), 0) FROM t_read r WHERE r.topic = sh.topic AND r.scope = sh.scope AND r.pos >= sh.seq)
                     - (SELECT COALESCE(sum(f.users), 0) FROM t_from f WHERE f.topic = sh.topic AND f.scope = sh.scope AND f.pos >= sh.seq) END AS read_users,
             CASE WHEN sh.topic IS NULL THEN (SELECT COALESCE(sum(r.users), 0) FROM b_seen r WHERE r.scope = sh.scope AND r.pos >= sh.seq)
                  ELSE (SELECT COALESCE(sum(r.users), 0) FROM t_seen r WHERE r.topic = sh.topic AND r.scope = sh.scope AND r.pos >= sh.seq)
                     - (SELECT COALESCE(sum(f.users), 0) FROM t_from f WHERE f.topic = sh.topic AND f.scope = sh.scope AND f.pos >= sh.seq) END AS seen_users,
             CASE WHEN sh.topic IS NULL THEN (SELECT sum(r.at_sum) FROM b_read r WHERE r.scope = sh.scope AND r.pos >= sh.seq)
                  ELSE (SELECT sum(r.at_sum) FROM t_read r WHERE r.topic = sh.topic AND r.scope = sh.scope AND r.pos >= sh.seq)
                     - COALESCE((SELECT sum(f.at_sum) FROM t_from f WHERE f.topic = sh.topic AND f.scope = sh.scope AND f.pos >= sh.seq), 0) END AS read_at_sum,
             CASE WHEN sh.topic IS NULL THEN (SELECT COALESCE(sum(r.timed), 0) FROM b_read r WHERE r.scope = sh.scope AND r.pos >= sh.seq)
                  ELSE (SELECT COALESCE(sum(r.timed), 0) FROM t_read r WHERE r.topic = sh.topic AND r.scope = sh.scope AND r.pos >= sh.seq)
                     - (SELECT COALESCE(sum(f.timed), 0) FROM t_from f WHERE f.topic = sh.topic AND f.scope = sh.scope AND f.pos >= sh.seq) END AS read_timed
    ) wm
    CROSS JOIN LATERAL (
      -- Marks by id (receipts) of users no watermark covers for this row: added to the watermarks' counts.
      SELECT count(*) FILTER (WHERE r.read_at IS NOT NULL AND NOT c.read_covered) AS read_extra,
             count(*) FILTER (WHERE (r.read_at IS NOT NULL OR r.seen_at IS NOT NULL) AND NOT c.seen_covered) AS seen_extra,
             COALESCE(sum(GREATEST(0, extract(epoch FROM r.read_at - sh.created_at))) FILTER (WHERE r.read_at IS NOT NULL AND NOT c.read_covered), 0)
               AS read_extra_seconds,
             count(*) FILTER (WHERE r.read_at IS NOT NULL AND NOT c.read_covered) AS read_extra_timed
        FROM "public".inbox_receipt r
        LEFT JOIN "public".inbox_user_state us ON sh.topic IS NULL AND us.user_id = r.user_id AND us.scope = sh.scope
        LEFT JOIN "public".inbox_subscription sub ON sh.topic IS NOT NULL AND sub.user_id = r.user_id AND sub.topic = sh.topic AND sub.scope = sh.scope
        CROSS JOIN LATERAL (
          SELECT CASE WHEN sh.topic IS NULL THEN COALESCE(us.broadcast_read_seq, 0) >= sh.seq
                      ELSE sub.from_seq < sh.seq AND COALESCE(sub.read_seq >= sh.seq, false) END AS read_covered,
                 CASE WHEN sh.topic IS NULL THEN GREATEST(COALESCE(us.broadcast_read_seq, 0), COALESCE(us.broadcast_seen_seq, 0)) >= sh.seq
                      ELSE sub.from_seq < sh.seq AND COALESCE(GREATEST(sub.read_seq, sub.seen_seq) >= sh.seq, false) END AS seen_covered
        ) c0
        CROSS JOIN LATERAL (SELECT COALESCE(c0.read_covered, false) AS read_covered, COALESCE(c0.seen_covered, false) AS seen_covered) c
       WHERE r.notification_id = sh.id
    ) rc
)
SELECT d.type, 'direct'::text, d.stored, d.audience, d.seen, d.read, d.read_seconds / NULLIF(d.read_timed, 0) FROM direct d
UNION ALL
SELECT p.type, p.kind, count(*), sum(p.audience)::bigint, sum(p.seen)::bigint, sum(p.read)::bigint,
       sum(p.read_seconds) / NULLIF(sum(p.read_timed), 0)
  FROM per_shared p GROUP BY p.type, p.kind
ORDER BY 1, 2
), live AS (
  SELECT d.type, d.kind, sum(d.live)::bigint AS delivered_live
    FROM "public".inbox_delivery d
   WHERE d.notification_id >= "public".inbox_first_id_at(since) AND d.notification_id < "public".inbox_first_id_at(until)
   GROUP BY 1, 2
)
SELECT r.type, r.kind, r.stored, r.audience, COALESCE(l.delivered_live, 0), r.seen, r.read, r.avg_seconds_to_read
  FROM rates r LEFT JOIN live l ON l.type = r.type AND l.kind = r.kind
 ORDER BY 1, 2
$$;

CREATE FUNCTION public.inbox_first_id_at(at timestamp with time zone) RETURNS bigint
    LANGUAGE plpgsql STABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
DECLARE
  lo bigint;
  hi bigint;
  mid bigint;
  next_id bigint;
  next_at timestamptz;
BEGIN
  SELECT min(n.id), max(n.id) + 1 INTO lo, hi FROM "public".inbox_notification n;
  IF lo IS NULL THEN
    RETURN 1;
  END IF;
  -- Every row below lo was created before at; the first row at or above hi (if any), at or after it.
  WHILE lo < hi LOOP
    mid := lo + (hi - lo) / 2;
    SELECT n.id, n.created_at INTO next_id, next_at FROM "public".inbox_notification n WHERE n.id >= mid ORDER BY n.id LIMIT 1;
    IF next_at >= at THEN
      hi := mid;
    ELSE
      lo := next_id + 1;
    END IF;
  END LOOP;
  RETURN lo;
END $$;

CREATE FUNCTION public.inbox_group(ids bigint[]) RETURNS TABLE(id bigint, group_run bigint, group_count integer, group_actors jsonb, replaces bigint)
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  #variable_conflict use_column
  DECLARE
    r record;
    cur record;
    joins boolean;
  BEGIN
    FOR r IN SELECT n.id, n.user_id, n.scope, n.group_key, n.actor
               FROM "public".inbox_notification n
              WHERE n.id = ANY(ids) AND n.group_key IS NOT NULL AND n.group_run IS NULL ORDER BY n.id LOOP
      SELECT c.id, c.group_run, c.group_count, c.group_actors, c.superseded, c.read_at, c.deleted_at, c.tx_id, c.expires_at
        INTO cur FROM "public".inbox_notification c
       WHERE c.user_id = r.user_id AND c.scope = r.scope AND c.group_key = r.group_key AND c.id < r.id
       ORDER BY c.id DESC LIMIT 1;
      joins := FOUND AND NOT cur.superseded AND cur.group_run IS NOT NULL
        AND cur.read_at IS NULL AND cur.deleted_at IS NULL AND (cur.expires_at IS NULL OR cur.expires_at > now())
        AND NOT EXISTS (SELECT 1 FROM "public".inbox_user_state us WHERE us.user_id = r.user_id AND us.scope = r.scope
                           AND (cur.tx_id < us.direct_read_xmin OR cur.tx_id < us.direct_deleted_xmin));
      IF joins THEN
        UPDATE "public".inbox_notification SET superseded = true WHERE inbox_notification.id = cur.id;
        -- Out of the tag index the views walk too (the detail list tests the row's own tags).
        DELETE FROM "public".inbox_notification_tag t WHERE t.notification_id = cur.id;
        UPDATE "public".inbox_notification n
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
        UPDATE "public".inbox_notification n
           SET group_run = r.id, group_count = 1, replaces = NULL,
               group_actors = CASE WHEN jsonb_typeof(r.actor) = 'object' THEN jsonb_build_array(r.actor) ELSE '[]'::jsonb END
         WHERE n.id = r.id;
      END IF;
      RETURN QUERY SELECT n.id, n.group_run, n.group_count, n.group_actors, n.replaces
                     FROM "public".inbox_notification n WHERE n.id = r.id;
    END LOOP;
  END $$;

CREATE FUNCTION public.inbox_group_lock(users text[], scope text, key text) RETURNS void
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
  END $$;

CREATE FUNCTION public.inbox_notify(recipients text[], notification jsonb) RETURNS bigint[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
      BEGIN
        RETURN "public".inbox_store('inbox_notify'::text, COALESCE(recipients, '{}'::text[]), NULL::text, notification);
      END $$;

CREATE FUNCTION public.inbox_notify(recipients text[], notification text) RETURNS bigint[]
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT "public".inbox_store('inbox_notify'::text, COALESCE(recipients, '{}'::text[]), NULL::text,
                            "public".inbox_parse_notification('inbox_notify'::text, notification))
  $$;

CREATE FUNCTION public.inbox_parse_notification(fn text, notification text) RETURNS jsonb
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
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
      path := "public".inbox_unstorable_path(
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
  END $$;

CREATE FUNCTION public.inbox_publish(topic text, notification jsonb) RETURNS bigint[]
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  BEGIN
    IF topic IS NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'inbox_publish: topic: must be a topic of 1 to 255 characters, without surrounding whitespace';
    END IF;
    RETURN "public".inbox_store('inbox_publish'::text, NULL::text[], topic, notification);
  END $$;

CREATE FUNCTION public.inbox_publish(topic text, notification text) RETURNS bigint[]
    LANGUAGE sql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
    SELECT "public".inbox_publish(topic, "public".inbox_parse_notification('inbox_publish'::text, notification))
  $$;

CREATE FUNCTION public.inbox_store(fn text, recipients text[], stream_topic text, n jsonb) RETURNS bigint[]
    LANGUAGE plpgsql
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
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
    uncommon boolean;
    wake boolean;
  BEGIN
    -- The server's limit: the database's own setting, which only its owner can change (else one
    -- a superuser set for every role, ALTER ROLE ALL). The session's value (the database's, or
    -- the caller's SET, ALTER ROLE or connection option) may only lower it.
    SELECT substr(c, length('inbox.max_payload_bytes=') + 1) INTO setting
      FROM pg_db_role_setting d CROSS JOIN unnest(d.setconfig) AS c
     WHERE d.setrole = 0 AND starts_with(c, 'inbox.max_payload_bytes=')
       AND d.setdatabase::text IN ('0', substring(pg_relation_filepath('pg_catalog.pg_class'::regclass) from '([0-9]+)/[0-9]+$'))
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
    uncommon := (n - ARRAY['type', 'title', 'body', 'data']) <> '{}'::jsonb;
    IF uncommon THEN
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
    IF uncommon THEN
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
    problem := "public".inbox_url_problem(n->>'url');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.url: ' || problem;
    END IF;
    problem := "public".inbox_actions_problem(n->'actions');
    IF problem IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = fn || ': notification.actions' || problem;
    END IF;
    problem := "public".inbox_actor_problem(n->'actor');
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
      PERFORM "public".inbox_group_lock(recipients, COALESCE(n->>'scope', ''), n->>'group');
    END IF;
    -- The registry lock (InboxSqlWake), before the statement that reads inbox_sql_listener takes
    -- its snapshot; an expression, not a PERFORM, so no statement of its own.
    wake := pg_advisory_xact_lock_shared(1735289206, 0) IS NULL;
    IF NOT uncommon AND cardinality(recipients) = 1 AND array_ndims(recipients) = 1 THEN
      INSERT INTO "public".inbox_notification AS x (user_id, topic, type, title, body, data, tx_id, tx_horizon, via_sql)
      VALUES (recipients[array_lower(recipients, 1)], stream_topic, n->>'type', n->>'title', n->>'body',
              CASE WHEN jsonb_typeof(n->'data') = 'object' THEN n->'data' END,
              pg_current_xact_id()::text::bigint, pg_snapshot_xmin(pg_current_snapshot())::text::bigint, true)
      RETURNING ARRAY[x.id], current_setting('transaction_isolation') <> 'read committed'
             OR NOT EXISTS (SELECT 1 FROM "public".inbox_sql_listener)
             OR EXISTS (SELECT 1 FROM "public".inbox_sql_listener l WHERE NOT pg_try_advisory_xact_lock_shared(1735289205, l.pid))
        INTO ids, wake;
    ELSE
    -- As the library's INSERT: one statement, its snapshot taken before the ids are drawn.
    WITH tx AS (
      SELECT pg_current_xact_id()::text::bigint AS tx_id,
             pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
    ), ins AS (
      INSERT INTO "public".inbox_notification AS x
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
    SELECT COALESCE(array_agg(id ORDER BY id), '{}'),
           count(*) > 0 AND (current_setting('transaction_isolation') <> 'read committed'
             OR NOT EXISTS (SELECT 1 FROM "public".inbox_sql_listener)
             OR EXISTS (SELECT 1 FROM "public".inbox_sql_listener l WHERE NOT pg_try_advisory_xact_lock_shared(1735289205, l.pid)))
      INTO ids, wake FROM ins;
    END IF;
    IF n->>'group' IS NOT NULL AND cardinality(ids) > 0 THEN
      PERFORM "public".inbox_group(ids);
    END IF;
    -- The wake-up, only for a listener that asked for one (see inbox_sql_listener): a listener
    -- not armed cannot arm until this transaction has ended (the shared lock), and reads after.
    -- No listener registered (none running, or only gateways older than this migration): as before.
    -- A transaction with an older snapshot than the statement's (REPEATABLE READ, SERIALIZABLE)
    -- might not see a listener that registered meanwhile: it always NOTIFYs.
    IF wake THEN
      PERFORM pg_notify('nestjs_inbox', '');
    END IF;
    RETURN ids;
  END $_$;

CREATE FUNCTION public.inbox_tag_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  BEGIN
    INSERT INTO "public".inbox_notification_tag (owner, tag, notification_id)
    SELECT CASE WHEN NEW.scope = ''
                THEN CASE WHEN NEW.user_id IS NULL THEN 's:' || COALESCE(NEW.topic, '') ELSE 'u:' || NEW.user_id END
                ELSE CASE WHEN NEW.user_id IS NULL THEN 'S' ELSE 'U' END || length(NEW.scope) || ':' || NEW.scope
                     || COALESCE(NEW.user_id, NEW.topic, '') END, t, NEW.id
      FROM unnest(NEW.tags) t
    ON CONFLICT DO NOTHING;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_unstorable_path(v jsonb, path text) RETURNS text
    LANGUAGE plpgsql IMMUTABLE
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $$
  DECLARE
    k text;
    e jsonb;
    i bigint;
    found text;
  BEGIN
    CASE jsonb_typeof(v)
    WHEN 'string' THEN
      IF (v #>> '{}') ~ E'\\x01(0000|[dD][89abAB][0-9a-fA-F]{2}(?!\\x01[dD][c-fC-F])|(?<![\\x01][dD][89abAB][0-9a-fA-F]{2}\\x01)[dD][c-fC-F][0-9a-fA-F]{2})' THEN
        RETURN path;
      END IF;
    WHEN 'object' THEN
      FOR k, e IN SELECT x.key, x.value FROM jsonb_each(v) AS x LOOP
        IF k ~ E'\\x01(0000|[dD][89abAB][0-9a-fA-F]{2}(?!\\x01[dD][c-fC-F])|(?<![\\x01][dD][89abAB][0-9a-fA-F]{2}\\x01)[dD][c-fC-F][0-9a-fA-F]{2})' THEN
          RETURN path || '.' || replace(k, chr(1), E'\\u');
        END IF;
        found := "public".inbox_unstorable_path(e, path || '.' || replace(k, chr(1), E'\\u'));
        IF found IS NOT NULL THEN
          RETURN found;
        END IF;
      END LOOP;
    WHEN 'array' THEN
      FOR e, i IN SELECT x.e, x.i - 1 FROM jsonb_array_elements(v) WITH ORDINALITY AS x(e, i) LOOP
        found := "public".inbox_unstorable_path(e, path || '[' || i || ']');
        IF found IS NOT NULL THEN
          RETURN found;
        END IF;
      END LOOP;
    ELSE
      NULL;
    END CASE;
    RETURN NULL;
  END $$;

CREATE FUNCTION public.inbox_url_problem(url text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path TO 'pg_catalog', 'pg_temp'
    AS $_$
    SELECT CASE
      WHEN length(url) > 2048 THEN 'must be at most 2048 characters'
      WHEN url ~ E'[\\x01-\\x1f\\x7f-\\x9f]' THEN 'must not contain control characters'
      WHEN strpos(url, chr(92)) > 0 THEN 'must not contain backslashes'
      WHEN url ~ '^/([^/]|$)' OR url ~* E'^https?://[^/?#[:space:]]+([/?#]|$)' THEN NULL
      ELSE 'must be an http(s) URL or a site-relative path starting with a single /'
    END
  $_$;

CREATE TABLE public.inbox_channel_log (
    id bigint NOT NULL,
    user_id character varying(255) NOT NULL,
    scope character varying(200) DEFAULT ''::character varying NOT NULL,
    channel character varying(20) NOT NULL,
    notification_ids bigint[] NOT NULL,
    outcome character varying(10) NOT NULL,
    reason text,
    attempt integer DEFAULT 0 NOT NULL,
    message_id text,
    at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT inbox_channel_log_outcome_check CHECK (((outcome)::text = ANY ((ARRAY['sent'::character varying, 'skipped'::character varying, 'deferred'::character varying, 'failed'::character varying, 'retry'::character varying, 'cancelled'::character varying])::text[])))
);

CREATE SEQUENCE public.inbox_channel_log_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.inbox_channel_log_id_seq OWNED BY public.inbox_channel_log.id;

CREATE TABLE public.inbox_channel_send (
    notification_id bigint NOT NULL,
    user_id character varying(255) NOT NULL,
    channel character varying(20) NOT NULL,
    scope character varying(200) DEFAULT ''::character varying NOT NULL,
    until character varying(4) NOT NULL,
    due_at timestamp with time zone NOT NULL,
    status character varying(10) DEFAULT 'pending'::character varying NOT NULL,
    attempts integer DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT inbox_channel_send_status_check CHECK (((status)::text = ANY ((ARRAY['pending'::character varying, 'sending'::character varying, 'sent'::character varying, 'skipped'::character varying, 'failed'::character varying, 'cancelled'::character varying])::text[]))),
    CONSTRAINT inbox_channel_send_until_check CHECK (((until)::text = ANY ((ARRAY['seen'::character varying, 'read'::character varying])::text[])))
);

CREATE TABLE public.inbox_delivery (
    notification_id bigint NOT NULL,
    type character varying(100) NOT NULL,
    kind character varying(9) NOT NULL,
    live bigint NOT NULL,
    CONSTRAINT inbox_delivery_kind_check CHECK (((kind)::text = ANY ((ARRAY['direct'::character varying, 'broadcast'::character varying, 'topic'::character varying])::text[]))),
    CONSTRAINT inbox_delivery_live_check CHECK ((live > 0))
);

CREATE TABLE public.inbox_notification (
    id bigint NOT NULL,
    user_id character varying(255),
    topic character varying(255),
    type character varying(100) NOT NULL,
    title text,
    body text,
    data jsonb,
    dedupe_key character varying(255),
    expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    read_at timestamp with time zone,
    tx_id bigint NOT NULL,
    tx_horizon bigint NOT NULL,
    seq bigint,
    late boolean DEFAULT false NOT NULL,
    via_sql boolean DEFAULT false NOT NULL,
    url text,
    actions jsonb,
    actor jsonb,
    tags text[] DEFAULT '{}'::text[] NOT NULL,
    seen_at timestamp with time zone,
    archived boolean,
    deleted_at timestamp with time zone,
    type_seq bigint,
    scope character varying(200) DEFAULT ''::character varying NOT NULL,
    group_key character varying(200),
    group_run bigint,
    group_count integer,
    group_actors jsonb,
    replaces bigint,
    superseded boolean DEFAULT false NOT NULL,
    channels jsonb,
    CONSTRAINT inbox_notification_audience CHECK (((user_id IS NULL) OR (topic IS NULL))),
    CONSTRAINT inbox_notification_group_check CHECK (((group_key IS NULL) OR (((group_key)::text <> ''::text) AND (user_id IS NOT NULL)))),
    CONSTRAINT inbox_notification_url_check CHECK ((public.inbox_url_problem(url) IS NULL))
);

CREATE SEQUENCE public.inbox_notification_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE public.inbox_notification_id_seq OWNED BY public.inbox_notification.id;

CREATE TABLE public.inbox_notification_tag (
    owner character varying(470) NOT NULL,
    tag character varying(64) NOT NULL,
    notification_id bigint NOT NULL
);

CREATE TABLE public.inbox_push_subscription (
    user_id character varying(255) NOT NULL,
    endpoint character varying(2048) NOT NULL,
    p256dh character varying(200) NOT NULL,
    auth character varying(100) NOT NULL,
    expires_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.inbox_receipt (
    user_id character varying(255) NOT NULL,
    notification_id bigint NOT NULL,
    read_at timestamp with time zone,
    stream character varying(255) NOT NULL,
    seq bigint NOT NULL,
    seen_at timestamp with time zone,
    archived boolean,
    deleted_at timestamp with time zone,
    scope character varying(200) DEFAULT ''::character varying NOT NULL
);

CREATE TABLE public.inbox_snooze (
    user_id character varying(255) NOT NULL,
    notification_id bigint NOT NULL,
    until timestamp with time zone NOT NULL
);

CREATE UNLOGGED TABLE public.inbox_sql_listener (
    pid integer NOT NULL,
    registered_at timestamp with time zone DEFAULT now() NOT NULL
);

CREATE TABLE public.inbox_stream (
    stream character varying(255) NOT NULL,
    seq bigint DEFAULT 0 NOT NULL,
    scope character varying(200) DEFAULT ''::character varying NOT NULL
);

CREATE TABLE public.inbox_stream_type (
    stream character varying(255) NOT NULL,
    type character varying(100) NOT NULL,
    seq bigint DEFAULT 0 NOT NULL,
    scope character varying(200) DEFAULT ''::character varying NOT NULL
);

CREATE TABLE public.inbox_subscription (
    user_id character varying(255) NOT NULL,
    topic character varying(255) NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    tx_horizon bigint DEFAULT ((pg_snapshot_xmin(pg_current_snapshot()))::text)::bigint NOT NULL,
    from_seq bigint DEFAULT 0 NOT NULL,
    read_seq bigint DEFAULT 0 NOT NULL,
    seen_seq bigint DEFAULT 0 NOT NULL,
    archived_seq bigint DEFAULT 0 NOT NULL,
    deleted_seq bigint DEFAULT 0 NOT NULL,
    scope character varying(200) DEFAULT ''::character varying NOT NULL
);

CREATE TABLE public.inbox_user_state (
    user_id character varying(255) NOT NULL,
    read_all_at timestamp with time zone,
    direct_read_xmin bigint DEFAULT 0 NOT NULL,
    broadcast_read_seq bigint DEFAULT 0 NOT NULL,
    seen_all_at timestamp with time zone,
    direct_seen_xmin bigint DEFAULT 0 NOT NULL,
    broadcast_seen_seq bigint DEFAULT 0 NOT NULL,
    direct_archived_xmin bigint DEFAULT 0 NOT NULL,
    direct_archived_id bigint DEFAULT 0 NOT NULL,
    broadcast_archived_seq bigint DEFAULT 0 NOT NULL,
    direct_deleted_xmin bigint DEFAULT 0 NOT NULL,
    direct_deleted_id bigint DEFAULT 0 NOT NULL,
    broadcast_deleted_seq bigint DEFAULT 0 NOT NULL,
    muted_types text[] DEFAULT '{}'::text[] NOT NULL,
    muted_topics text[] DEFAULT '{}'::text[] NOT NULL,
    scope character varying(200) DEFAULT ''::character varying NOT NULL,
    channel_preferences jsonb,
    quiet_hours jsonb
);

ALTER TABLE ONLY public.inbox_channel_log ALTER COLUMN id SET DEFAULT nextval('public.inbox_channel_log_id_seq'::regclass);

ALTER TABLE ONLY public.inbox_notification ALTER COLUMN id SET DEFAULT nextval('public.inbox_notification_id_seq'::regclass);

ALTER TABLE ONLY public.inbox_channel_log
    ADD CONSTRAINT inbox_channel_log_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.inbox_channel_send
    ADD CONSTRAINT inbox_channel_send_pkey PRIMARY KEY (notification_id, user_id, channel);

ALTER TABLE ONLY public.inbox_delivery
    ADD CONSTRAINT inbox_delivery_pkey PRIMARY KEY (notification_id);

ALTER TABLE public.inbox_notification
    ADD CONSTRAINT inbox_notification_actions_check CHECK (public.inbox_actions_safe(actions)) NOT VALID;

ALTER TABLE public.inbox_notification
    ADD CONSTRAINT inbox_notification_actor_check CHECK (public.inbox_actor_safe(actor)) NOT VALID;

ALTER TABLE ONLY public.inbox_notification
    ADD CONSTRAINT inbox_notification_pkey PRIMARY KEY (id);

ALTER TABLE ONLY public.inbox_notification_tag
    ADD CONSTRAINT inbox_notification_tag_pkey PRIMARY KEY (owner, tag, notification_id);

ALTER TABLE ONLY public.inbox_push_subscription
    ADD CONSTRAINT inbox_push_subscription_pkey PRIMARY KEY (user_id, endpoint);

ALTER TABLE ONLY public.inbox_receipt
    ADD CONSTRAINT inbox_receipt_pkey PRIMARY KEY (user_id, notification_id);

ALTER TABLE ONLY public.inbox_snooze
    ADD CONSTRAINT inbox_snooze_pkey PRIMARY KEY (user_id, notification_id);

ALTER TABLE ONLY public.inbox_sql_listener
    ADD CONSTRAINT inbox_sql_listener_pkey PRIMARY KEY (pid);

ALTER TABLE ONLY public.inbox_stream
    ADD CONSTRAINT inbox_stream_pkey PRIMARY KEY (stream, scope);

ALTER TABLE ONLY public.inbox_stream_type
    ADD CONSTRAINT inbox_stream_type_pkey PRIMARY KEY (stream, scope, type);

ALTER TABLE ONLY public.inbox_subscription
    ADD CONSTRAINT inbox_subscription_pkey PRIMARY KEY (user_id, scope, topic);

ALTER TABLE ONLY public.inbox_user_state
    ADD CONSTRAINT inbox_user_state_pkey PRIMARY KEY (user_id, scope);

CREATE INDEX inbox_channel_log_user_idx ON public.inbox_channel_log USING btree (user_id, id);

CREATE INDEX inbox_channel_send_decided_idx ON public.inbox_channel_send USING btree (updated_at) WHERE ((status)::text = ANY ((ARRAY['sent'::character varying, 'skipped'::character varying, 'failed'::character varying, 'cancelled'::character varying])::text[]));

CREATE INDEX inbox_channel_send_due_idx ON public.inbox_channel_send USING btree (due_at) WHERE ((status)::text = 'pending'::text);

CREATE INDEX inbox_channel_send_inbox_idx ON public.inbox_channel_send USING btree (user_id, scope, channel, due_at) WHERE ((status)::text = 'pending'::text);

CREATE INDEX inbox_channel_send_sending_idx ON public.inbox_channel_send USING btree (updated_at) WHERE ((status)::text = 'sending'::text);

CREATE UNIQUE INDEX inbox_notification_dedupe_idx ON public.inbox_notification USING btree (COALESCE(user_id, ''::character varying), COALESCE(topic, ''::character varying), scope, dedupe_key) WHERE (dedupe_key IS NOT NULL);

CREATE INDEX inbox_notification_expires_idx ON public.inbox_notification USING btree (expires_at) WHERE (expires_at IS NOT NULL);

CREATE INDEX inbox_notification_expiring_idx ON public.inbox_notification USING btree (expires_at) WHERE ((expires_at IS NOT NULL) AND ((user_id IS NOT NULL) OR (title IS NOT NULL) OR (body IS NOT NULL) OR (data IS NOT NULL) OR (url IS NOT NULL) OR (actions IS NOT NULL) OR (actor IS NOT NULL) OR (tags <> '{}'::text[])));

CREATE INDEX inbox_notification_group_idx ON public.inbox_notification USING btree (user_id, scope, group_key, id) WHERE (group_key IS NOT NULL);

CREATE INDEX inbox_notification_group_run_idx ON public.inbox_notification USING btree (group_run) WHERE (group_run IS NOT NULL);

CREATE INDEX inbox_notification_late_idx ON public.inbox_notification USING btree (COALESCE(topic, ''::character varying), scope, seq) WHERE ((user_id IS NULL) AND late);

CREATE INDEX inbox_notification_shared_expiring_idx ON public.inbox_notification USING btree (COALESCE(topic, ''::character varying), scope, seq) INCLUDE (id, expires_at) WHERE ((user_id IS NULL) AND (expires_at IS NOT NULL));

CREATE INDEX inbox_notification_shared_idx ON public.inbox_notification USING btree (COALESCE(topic, ''::character varying), scope, id) INCLUDE (tx_id, created_at, seq) WHERE (user_id IS NULL);

CREATE INDEX inbox_notification_shared_seq_idx ON public.inbox_notification USING btree (COALESCE(topic, ''::character varying), scope, seq) INCLUDE (id) WHERE (user_id IS NULL);

CREATE INDEX inbox_notification_shared_type_idx ON public.inbox_notification USING btree (COALESCE(topic, ''::character varying), scope, type, id) WHERE (user_id IS NULL);

CREATE INDEX inbox_notification_shared_type_seq_idx ON public.inbox_notification USING btree (COALESCE(topic, ''::character varying), scope, type, seq) INCLUDE (type_seq) WHERE (user_id IS NULL);

CREATE INDEX inbox_notification_tag_notification_idx ON public.inbox_notification_tag USING btree (notification_id);

CREATE INDEX inbox_notification_unread_idx ON public.inbox_notification USING btree (user_id, scope, tx_id) INCLUDE (id, expires_at) WHERE ((user_id IS NOT NULL) AND (read_at IS NULL) AND (NOT superseded));

CREATE INDEX inbox_notification_user_archived_idx ON public.inbox_notification USING btree (user_id, scope, archived, id) WHERE ((user_id IS NOT NULL) AND (archived IS NOT NULL) AND (NOT superseded));

CREATE INDEX inbox_notification_user_idx ON public.inbox_notification USING btree (user_id, scope, id) INCLUDE (tx_id, created_at) WHERE ((user_id IS NOT NULL) AND (NOT superseded));

CREATE INDEX inbox_notification_user_type_idx ON public.inbox_notification USING btree (user_id, scope, type, id) WHERE ((user_id IS NOT NULL) AND (NOT superseded));

CREATE INDEX inbox_notification_via_sql_idx ON public.inbox_notification USING btree (tx_id) WHERE via_sql;

CREATE INDEX inbox_receipt_archived_idx ON public.inbox_receipt USING btree (user_id, scope, archived, notification_id) WHERE (archived IS NOT NULL);

CREATE INDEX inbox_receipt_notification_idx ON public.inbox_receipt USING btree (notification_id);

CREATE INDEX inbox_receipt_stream_idx ON public.inbox_receipt USING btree (user_id, stream, scope, seq);

CREATE INDEX inbox_snooze_notification_idx ON public.inbox_snooze USING btree (notification_id);

CREATE INDEX inbox_snooze_until_idx ON public.inbox_snooze USING btree (until);

CREATE INDEX inbox_subscription_audience_idx ON public.inbox_subscription USING btree (topic, scope, user_id);

CREATE INDEX inbox_subscription_topic_idx ON public.inbox_subscription USING btree (topic, scope);

CREATE INDEX inbox_user_state_scope_idx ON public.inbox_user_state USING btree (scope, user_id);

CREATE TRIGGER inbox_cancel_sends AFTER UPDATE ON public.inbox_notification REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_cancel_direct_sends();

CREATE TRIGGER inbox_cancel_sends AFTER UPDATE ON public.inbox_receipt REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_cancel_receipt_sends();

CREATE TRIGGER inbox_cancel_sends_new AFTER INSERT ON public.inbox_receipt REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION public.inbox_cancel_new_receipt_sends();

CREATE CONSTRAINT TRIGGER inbox_notification_seq AFTER INSERT ON public.inbox_notification DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ((new.user_id IS NULL)) EXECUTE FUNCTION public.inbox_assign_seq();

CREATE TRIGGER inbox_notification_tags AFTER INSERT ON public.inbox_notification FOR EACH ROW WHEN ((new.tags <> '{}'::text[])) EXECUTE FUNCTION public.inbox_tag_rows();

ALTER TABLE ONLY public.inbox_channel_send
    ADD CONSTRAINT inbox_channel_send_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES public.inbox_notification(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.inbox_notification_tag
    ADD CONSTRAINT inbox_notification_tag_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES public.inbox_notification(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.inbox_receipt
    ADD CONSTRAINT inbox_receipt_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES public.inbox_notification(id) ON DELETE CASCADE;

ALTER TABLE ONLY public.inbox_snooze
    ADD CONSTRAINT inbox_snooze_notification_id_fkey FOREIGN KEY (notification_id) REFERENCES public.inbox_notification(id) ON DELETE CASCADE;
