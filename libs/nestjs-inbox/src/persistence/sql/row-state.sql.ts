/**
 * The state a notification is in for one user, as SQL, on the read model of docs/scaling.md
 * ("Inbox states"): the user's watermarks (USER_CTES), and per row whether it is read, seen,
 * archived, deleted. Each predicate is written here once with its negation: the views test one,
 * the state changes the other ("not already read"), and a spec checks that they agree.
 */

export const LIVE = '(n.expires_at IS NULL OR n.expires_at > now())';
/** A row's columns as the library reads them: an unscoped row's scope ('' in the table) is `null`. */
export const COLUMNS =
  "n.id, n.user_id, n.topic, NULLIF(n.scope, '') AS scope, n.type, n.title, n.body, n.data, n.url, n.actions, n.actor, n.tags, n.created_at";

/**
 * How many rows just below a watermark (or a catch-up's cursor) are looked at again for those
 * it does not cover: rows of transactions still running when it was set, whose ids are just
 * below its id. Read from the index alone, per user and per stream.
 */
export const IN_FLIGHT_LOOKBACK = 100;

/**
 * The CTEs of the inbox (`user`, `scope`: SQL expressions; `scope` is '' for the unscoped inbox),
 * on the read model of docs/scaling.md and the scopes of docs/scopes.md:
 *
 * - `prefs` (one row): the inbox's preferences, which apply to everything it shows.
 * - `state` (a row per part of the user's direct rows it shows: the scope's, and the unscoped
 *   ones, `scope` ''; one row for the unscoped inbox): that part's watermarks (zeros for none)
 *   and, repeated, the inbox's preferences. A direct row is read against the row of its scope.
 * - `streams` (the broadcast stream of each part, then each subscribed topic of each part): per
 *   stream (`stream`, `scope`), `after`, the position the user's view of it starts after;
 *   `read`, `seen`, `archived`, `deleted`: up to which position all of it is (reading implies
 *   seeing); `read_all_at`, `seen_all_at`: when its part was last marked all read, seen.
 */
export const USER_CTES = (user: string, scope: string) => `
  prefs AS (
    SELECT COALESCE(us.muted_types, '{}') AS muted_types, COALESCE(us.muted_topics, '{}') AS muted_topics
      FROM (SELECT 1) one LEFT JOIN inbox_user_state us ON us.user_id = ${user} AND us.scope = ${scope}
  ), state AS (
    SELECT p.scope, COALESCE(us.direct_read_xmin, 0) AS read_xmin, us.read_all_at,
           COALESCE(us.direct_seen_xmin, 0) AS seen_xmin, us.seen_all_at,
           COALESCE(us.direct_archived_xmin, 0) AS archived_xmin, COALESCE(us.direct_archived_id, 0) AS archived_id,
           COALESCE(us.direct_deleted_xmin, 0) AS deleted_xmin, COALESCE(us.direct_deleted_id, 0) AS deleted_id,
           prefs.muted_types, prefs.muted_topics,
           COALESCE(us.broadcast_read_seq, 0) AS b_read, COALESCE(us.broadcast_seen_seq, 0) AS b_seen,
           COALESCE(us.broadcast_archived_seq, 0) AS b_archived, COALESCE(us.broadcast_deleted_seq, 0) AS b_deleted
      FROM (SELECT DISTINCT unnest(ARRAY[${scope}::varchar, ''::varchar]) AS scope) p CROSS JOIN prefs
      LEFT JOIN inbox_user_state us ON us.user_id = ${user} AND us.scope = p.scope
  ), streams AS (
    SELECT ''::varchar AS stream, s.scope, 0::bigint AS after, s.b_read AS read, GREATEST(s.b_read, s.b_seen) AS seen,
           s.b_archived AS archived, s.b_deleted AS deleted, false AS muted, s.read_all_at, s.seen_all_at
      FROM state s
    UNION ALL
    SELECT t.topic, t.scope, t.from_seq, GREATEST(t.read_seq, t.from_seq), GREATEST(t.seen_seq, t.read_seq, t.from_seq),
           GREATEST(t.archived_seq, t.from_seq), GREATEST(t.deleted_seq, t.from_seq), t.topic = ANY(s.muted_topics),
           s.read_all_at, s.seen_all_at
      FROM state s JOIN inbox_subscription t ON t.user_id = ${user} AND t.scope = s.scope
  )`;

/**
 * The parts of an inbox's direct rows (`scope`: the inbox's scope, an SQL expression): the
 * unscoped rows, and the scope's own (none for the unscoped inbox, `scope` ''). A branch per part
 * names its scope as written (`expr`), not from its `state` row: a planner that sees it (a
 * parameter, a constant) estimates the part's rows and walks its index range newest first,
 * rather than sorting all of it (which it did with the scope taken from a joined row). `state`:
 * the part's row of `state`, none for an empty part; `guard`: whether the part is not empty.
 */
export const directParts = (scope: string): { expr: string; state: string; guard: string }[] => [
  { expr: `''`, state: `(SELECT * FROM state WHERE scope = '')`, guard: 'true' },
  { expr: scope, state: `(SELECT * FROM state WHERE scope = ${scope} AND scope <> '')`, guard: `${scope} <> ''` },
];

/**
 * The owner a tag row of the direct rows of `user` in part `scope` (or, `user` null, of stream
 * `stream` of `scope`) has: see the InboxScopes migration's inbox_tag_rows.
 */
export const tagOwner = (scope: string, user: string | null, stream?: string) =>
  `CASE WHEN ${scope} = '' THEN ${user === null ? `'s:' || ${stream}` : `'u:' || ${user}`}
        ELSE '${user === null ? 'S' : 'U'}' || length(${scope}) || ':' || ${scope} || ${user ?? stream} END`;

/** A row `n` of stream `st`: its topic ('' for a broadcast) and scope. */
export const OF_STREAM = (n: string, st = 'st') =>
  `${n}.user_id IS NULL AND COALESCE(${n}.topic, '') = ${st}.stream AND ${n}.scope = ${st}.scope`;

/** A condition on a row and its negation, each in the form the planner estimates well. */
export interface Predicate {
  is: string;
  isNot: string;
}
export type RowState = Record<'read' | 'seen' | 'archived' | 'deleted', Predicate>;

/** A direct row `n` in the user's `state` `s`: its own columns, or a watermark (a transaction horizon). */
export const DIRECT_ROW: RowState = {
  read: { is: '(n.read_at IS NOT NULL OR n.tx_id < s.read_xmin)', isNot: 'n.read_at IS NULL AND n.tx_id >= s.read_xmin' },
  seen: {
    is: '(n.read_at IS NOT NULL OR n.seen_at IS NOT NULL OR n.tx_id < GREATEST(s.read_xmin, s.seen_xmin))',
    isNot: 'n.read_at IS NULL AND n.seen_at IS NULL AND n.tx_id >= GREATEST(s.read_xmin, s.seen_xmin)',
  },
  // `archived` is NULL unless archived or unarchived one by one, which overrides the watermark.
  archived: { is: 'COALESCE(n.archived, n.tx_id < s.archived_xmin)', isNot: 'NOT COALESCE(n.archived, n.tx_id < s.archived_xmin)' },
  deleted: { is: '(n.deleted_at IS NOT NULL OR n.tx_id < s.deleted_xmin)', isNot: 'n.deleted_at IS NULL AND n.tx_id >= s.deleted_xmin' },
};

/** A shared row `n` of stream `st`, with the user's receipt `r` (all nulls without one): the receipt, or the stream's position. */
export const SHARED_ROW: RowState = {
  read: { is: '(r.read_at IS NOT NULL OR n.seq <= st.read)', isNot: 'r.read_at IS NULL AND n.seq > st.read' },
  seen: {
    is: '(r.read_at IS NOT NULL OR r.seen_at IS NOT NULL OR n.seq <= st.seen)',
    isNot: 'r.read_at IS NULL AND r.seen_at IS NULL AND n.seq > st.seen',
  },
  archived: { is: 'COALESCE(r.archived, n.seq <= st.archived)', isNot: 'NOT COALESCE(r.archived, n.seq <= st.archived)' },
  deleted: { is: '(r.deleted_at IS NOT NULL OR n.seq <= st.deleted)', isNot: 'r.deleted_at IS NULL AND n.seq > st.deleted' },
};

/** The state columns a page returns: read and seen times (the mark's, or the mark-all's), archived. */
export const DIRECT_STATE = `
  COALESCE(n.read_at, CASE WHEN n.tx_id < s.read_xmin THEN s.read_all_at END) AS read_at,
  COALESCE(n.seen_at, CASE WHEN n.tx_id < s.seen_xmin THEN s.seen_all_at END, n.read_at,
           CASE WHEN n.tx_id < s.read_xmin THEN s.read_all_at END) AS seen_at,
  ${DIRECT_ROW.archived.is} AS archived`;
export const SHARED_STATE = `
  COALESCE(r.read_at, CASE WHEN n.seq <= st.read THEN st.read_all_at END) AS read_at,
  COALESCE(r.seen_at, r.read_at, CASE WHEN n.seq <= st.seen THEN COALESCE(st.seen_all_at, st.read_all_at) END) AS seen_at,
  ${SHARED_ROW.archived.is} AS archived`;
