/**
 * The state a notification is in for one user, as SQL, on the read model of docs/scaling.md
 * ("Inbox states"): the user's watermarks (USER_CTES), and per row whether it is read, seen,
 * archived, deleted. Each predicate is written here once with its negation: the views test one,
 * the state changes the other ("not already read"), and a spec checks that they agree.
 */

export const LIVE = '(n.expires_at IS NULL OR n.expires_at > now())';
export const COLUMNS = 'n.id, n.user_id, n.topic, n.type, n.title, n.body, n.data, n.url, n.actions, n.actor, n.tags, n.created_at';

/**
 * How many rows just below a watermark (or a catch-up's cursor) are looked at again for those
 * it does not cover: rows of transactions still running when it was set, whose ids are just
 * below its id. Read from the index alone, per user and per stream.
 */
export const IN_FLIGHT_LOOKBACK = 100;

/**
 * `state` (one row: the user's watermarks and preferences, zeros for a user without any) and
 * `streams` (the broadcast stream '', then each subscribed topic) for the user `user` (an SQL
 * expression). Per stream: `after`, the position the user's view of it starts after; `read`,
 * `seen`, `archived`, `deleted`: up to which position all of it is (reading implies seeing).
 */
export const USER_CTES = (user: string) => `
  state AS (
    SELECT COALESCE(us.direct_read_xmin, 0) AS read_xmin, us.read_all_at,
           COALESCE(us.direct_seen_xmin, 0) AS seen_xmin, us.seen_all_at,
           COALESCE(us.direct_archived_xmin, 0) AS archived_xmin, COALESCE(us.direct_archived_id, 0) AS archived_id,
           COALESCE(us.direct_deleted_xmin, 0) AS deleted_xmin, COALESCE(us.direct_deleted_id, 0) AS deleted_id,
           COALESCE(us.muted_types, '{}') AS muted_types, COALESCE(us.muted_topics, '{}') AS muted_topics,
           COALESCE(us.broadcast_read_seq, 0) AS b_read, COALESCE(us.broadcast_seen_seq, 0) AS b_seen,
           COALESCE(us.broadcast_archived_seq, 0) AS b_archived, COALESCE(us.broadcast_deleted_seq, 0) AS b_deleted
      FROM (SELECT 1) one LEFT JOIN inbox_user_state us ON us.user_id = ${user}
  ), streams AS (
    SELECT ''::varchar AS stream, 0::bigint AS after, s.b_read AS read, GREATEST(s.b_read, s.b_seen) AS seen,
           s.b_archived AS archived, s.b_deleted AS deleted, false AS muted
      FROM state s
    UNION ALL
    SELECT t.topic, t.from_seq, GREATEST(t.read_seq, t.from_seq), GREATEST(t.seen_seq, t.read_seq, t.from_seq),
           GREATEST(t.archived_seq, t.from_seq), GREATEST(t.deleted_seq, t.from_seq), t.topic = ANY(s.muted_topics)
      FROM inbox_subscription t CROSS JOIN state s WHERE t.user_id = ${user}
  )`;

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
  COALESCE(r.read_at, CASE WHEN n.seq <= st.read THEN s.read_all_at END) AS read_at,
  COALESCE(r.seen_at, r.read_at, CASE WHEN n.seq <= st.seen THEN COALESCE(s.seen_all_at, s.read_all_at) END) AS seen_at,
  ${SHARED_ROW.archived.is} AS archived`;
