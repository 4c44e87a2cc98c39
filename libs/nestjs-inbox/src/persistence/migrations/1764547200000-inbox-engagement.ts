import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Issue 26: `inbox_engagement(since, until)`, per-type rates for a time window (docs/observability.md,
 * "Engagement in SQL"). What it costs, at any table size: the window's rows (a PK range found by
 * `inbox_first_id_at`, O(log rows) probes, never a scan), the receipts of the window's shared rows,
 * one pass over `inbox_user_state` when the window holds a broadcast, and the subscriptions of the
 * window's topics. A broadcast or a publication is never multiplied by its users: the users a
 * watermark covers are counted from the watermarks grouped by position, each shared row reading
 * the groups at or above its own position (their number is at most the stream's length).
 *
 * Both are SECURITY INVOKER (the caller needs SELECT on the tables, as for any query of them)
 * with a pinned search_path, read only, and not executable by PUBLIC: the host grants them
 * (`GRANT EXECUTE ON FUNCTION inbox_engagement(timestamptz, timestamptz), inbox_first_id_at(timestamptz) TO reporting`).
 */
export class InboxEngagement1764547200000 implements MigrationInterface {
  name = 'InboxEngagement1764547200000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(firstIdAt(s));
    await db.query(engagement(s));
    // Like every inbox function but the CHECK's: granted by the host, to its reporting role.
    await db.query(
      `REVOKE EXECUTE ON FUNCTION ${s}.inbox_first_id_at(timestamptz), ${s}.inbox_engagement(timestamptz, timestamptz) FROM PUBLIC`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`DROP FUNCTION ${s}.inbox_engagement(timestamptz, timestamptz), ${s}.inbox_first_id_at(timestamptz)`);
  }
}

/** The schema the earlier migrations created the tables in. */
async function inboxSchema(db: QueryRunner): Promise<string> {
  const [{ nspname }] = await db.query(`
    SELECT n.nspname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = 'inbox_notification'::regclass`);
  return `"${String(nspname).replace(/"/g, '""')}"`;
}

/**
 * The first id of the rows created at or after `at`, by bisection over the primary key (ids grow
 * with time; `created_at` is the storing transaction's start, so a boundary is exact up to the
 * longest transaction that stored across it). Below every row: its least id; above: the greatest + 1.
 */
const firstIdAt = (s: string) => `
CREATE FUNCTION ${s}.inbox_first_id_at(at timestamptz) RETURNS bigint
  LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
  lo bigint;
  hi bigint;
  mid bigint;
  next_id bigint;
  next_at timestamptz;
BEGIN
  SELECT min(n.id), max(n.id) + 1 INTO lo, hi FROM ${s}.inbox_notification n;
  IF lo IS NULL THEN
    RETURN 1;
  END IF;
  -- Every row below lo was created before at; the first row at or above hi (if any), at or after it.
  WHILE lo < hi LOOP
    mid := lo + (hi - lo) / 2;
    SELECT n.id, n.created_at INTO next_id, next_at FROM ${s}.inbox_notification n WHERE n.id >= mid ORDER BY n.id LIMIT 1;
    IF next_at >= at THEN
      hi := mid;
    ELSE
      lo := next_id + 1;
    END IF;
  END LOOP;
  RETURN lo;
END $$`;

/**
 * Per type and kind (direct, broadcast, topic), for the rows created in [since, until):
 * - stored: rows (a broadcast or a publication is one row);
 * - audience: who could see them: the recipient of each direct row; for a publication, the
 *   topic's subscribers then (subscribed before it); NULL for broadcasts (every user: a number
 *   the store does not keep);
 * - seen, read: recipients that saw / read them, by their own mark or by a "mark all" watermark;
 * - avg_seconds_to_read: from the row's creation to its read, for the reads with a time (a read by
 *   "mark all" takes the user's latest mark-all time, an upper bound).
 * Reads by direct watermark follow the row state of persistence/sql/row-state.sql.ts. With scopes
 * (InboxScopes), a row's watermarks are its own scope's state row, and a shared stream is the pair
 * (topic, scope): its positions, user states and subscriptions are matched on both.
 */
export const engagement = (s: string) => `
CREATE FUNCTION ${s}.inbox_engagement(since timestamptz, until timestamptz DEFAULT now())
  RETURNS TABLE (type varchar, kind text, stored bigint, audience bigint, seen bigint, read bigint, avg_seconds_to_read double precision)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$${engagementQuery(s)}$$`;

/** The rates' query (the body of inbox_engagement), ordered by type and kind; InboxDeliveryRecord builds on it. */
export const engagementQuery = (s: string) => `
WITH bounds AS (
  SELECT ${s}.inbox_first_id_at(since) AS lo, ${s}.inbox_first_id_at(until) AS hi
), win AS (
  SELECT n.id, n.user_id, n.topic, n.scope, n.type, n.created_at, n.read_at, n.seen_at, n.tx_id, n.seq
    FROM bounds b JOIN ${s}.inbox_notification n ON n.id >= b.lo AND n.id < b.hi
), direct AS (
  SELECT w.type, count(*) AS stored, count(*) AS audience,
         count(*) FILTER (WHERE w.read_at IS NOT NULL OR w.seen_at IS NOT NULL
                             OR w.tx_id < GREATEST(COALESCE(us.direct_read_xmin, 0), COALESCE(us.direct_seen_xmin, 0))) AS seen,
         count(*) FILTER (WHERE w.read_at IS NOT NULL OR w.tx_id < COALESCE(us.direct_read_xmin, 0)) AS read,
         sum(GREATEST(0, extract(epoch FROM t.read_time - w.created_at))) AS read_seconds,
         count(t.read_time) AS read_timed
    FROM win w
    LEFT JOIN ${s}.inbox_user_state us ON us.user_id = w.user_id AND us.scope = w.scope
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
    FROM ${s}.inbox_user_state us JOIN b_first f ON f.scope = us.scope
   WHERE us.broadcast_read_seq >= f.seq
   GROUP BY 1, 2
), b_seen AS (
  SELECT us.scope, GREATEST(us.broadcast_read_seq, us.broadcast_seen_seq) AS pos, count(*) AS users
    FROM ${s}.inbox_user_state us JOIN b_first f ON f.scope = us.scope
   WHERE GREATEST(us.broadcast_read_seq, us.broadcast_seen_seq) >= f.seq
   GROUP BY 1, 2
), t_sub AS (
  -- The subscriptions of the window's topics. A publication at position p reaches those with
  -- from_seq < p; of them, a watermark covers those whose position (never below from_seq) is >= p:
  -- count(position >= p) - count(from_seq >= p), each a sum over groups by position.
  -- A stream is (topic, scope): a subscription is to one scope's publications of its topic.
  SELECT sub.topic, sub.scope, sub.from_seq, GREATEST(sub.read_seq, sub.from_seq) AS read_pos,
         GREATEST(sub.read_seq, sub.seen_seq, sub.from_seq) AS seen_pos, extract(epoch FROM us.read_all_at) AS read_all
    FROM ${s}.inbox_subscription sub
    LEFT JOIN ${s}.inbox_user_state us ON us.user_id = sub.user_id AND us.scope = sub.scope
   WHERE (sub.topic, sub.scope) IN (SELECT DISTINCT topic, scope FROM shared WHERE topic IS NOT NULL)
), t_from AS (
  SELECT topic, scope, from_seq AS pos, count(*) AS users, sum(read_all) AS at_sum, count(read_all) AS timed FROM t_sub GROUP BY 1, 2, 3
), t_read AS (
  SELECT topic, scope, read_pos AS pos, count(*) AS users, sum(read_all) AS at_sum, count(read_all) AS timed FROM t_sub GROUP BY 1, 2, 3
), t_seen AS (
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
        FROM ${s}.inbox_receipt r
        LEFT JOIN ${s}.inbox_user_state us ON sh.topic IS NULL AND us.user_id = r.user_id AND us.scope = sh.scope
        LEFT JOIN ${s}.inbox_subscription sub ON sh.topic IS NOT NULL AND sub.user_id = r.user_id AND sub.topic = sh.topic AND sub.scope = sh.scope
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
`;
