/**
 * The INSERT of NotificationRepository.insert. The rows come as one JSON array of arrays (each
 * in the order `input` reads them by index): one string that JSON.stringify builds natively,
 * where twelve parameter arrays cost a `map` each and pg's element-by-element escaping
 * (docs/performance.md). Ids are drawn before the
 * insert so the result maps back to input rows by id; the statement's snapshot is taken before
 * any of them, which is what tx_horizon needs. Only what the database decides comes back, in one
 * row whatever the batch (a reply row per input row cost the client a message, an object and
 * three parses each, docs/performance.md "Fifth round"): the ids in input order, comma-separated,
 * empty where the dedupe arbiter stored nothing, and `created_at` once, in epoch milliseconds:
 * the column's default, `now()`, is the transaction's start, the same for every row.
 */
export const INSERT_SQL = `
  WITH input AS MATERIALIZED (
    SELECT nextval('inbox_notification_id_seq'::regclass) AS id, e.ord,
           e.r->>0 AS user_id, e.r->>1 AS topic, e.r->>2 AS type, e.r->>3 AS title, e.r->>4 AS body,
           NULLIF(e.r->5, 'null') AS data, e.r->>6 AS dedupe_key, (e.r->>7)::timestamptz AS expires_at,
           e.r->>8 AS url, NULLIF(e.r->9, 'null') AS actions, NULLIF(e.r->10, 'null') AS actor, NULLIF(e.r->11, 'null') AS tags,
           COALESCE(e.r->>12, '') AS scope, e.r->>13 AS group_key
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, ord)
  ), tx AS (
    -- Once per statement, not per row (each pg_current_snapshot() copies the snapshot).
    SELECT pg_current_xact_id()::text::bigint AS tx_id,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
  ), ins AS (
    INSERT INTO inbox_notification AS n
           (id, user_id, topic, scope, group_key, type, title, body, data, dedupe_key, expires_at, url, actions, actor, tags,
            tx_id, tx_horizon)
    SELECT id, user_id, topic, scope, group_key, type, title, body, data, dedupe_key, expires_at, url, actions, actor,
           CASE WHEN input.tags IS NULL THEN '{}'::text[]
                ELSE ARRAY(SELECT e FROM jsonb_array_elements_text(input.tags) WITH ORDINALITY AS x(e, i) ORDER BY i) END,
           tx.tx_id, tx.tx_horizon
      FROM input CROSS JOIN tx
     -- A broadcast's or publication's row takes its stream's counter row at commit (the deferred
     -- inbox_notification_seq trigger, in insertion order) and holds it to the end: rows in the
     -- order of their streams, so two batches never wait on each other's streams in a cycle
     -- (a deadlock). Within a stream, and for direct rows (after them), the input's order.
     ORDER BY CASE WHEN user_id IS NULL THEN COALESCE(topic, '') END, CASE WHEN user_id IS NULL THEN scope END, ord
    ON CONFLICT ((COALESCE(user_id, '')), (COALESCE(topic, '')), scope, dedupe_key) WHERE dedupe_key IS NOT NULL
    DO NOTHING
    RETURNING n.id, n.created_at
  )
  SELECT floor(extract(epoch FROM min(ins.created_at)) * 1000)::float8 AS created_ms,
         string_agg(COALESCE(ins.id::text, ''), ',' ORDER BY input.ord) AS ids
    FROM input LEFT JOIN ins USING (id)`;
