import type { FilterState } from '../protocol';

/**
 * The SQL of a user's inbox views: which of the notifications a user may see are in a view,
 * in what state, and how many of them are unread, on the read model of docs/scaling.md
 * ("Inbox states"). Builders only: NotificationStore runs what they return.
 */

/** A filter once validated: every field in the form the SQL needs. */
export interface View {
  types?: string[];
  topic?: string;
  /** `inbox` (the default): neither archived nor deleted. */
  state: FilterState | 'inbox';
  tags?: string[];
  before?: string;
  after?: string;
  /** Newer than this SQL expression's id (a column of a batch: a catch-up's cursor). */
  afterSql?: string;
}

/** The inbox: every notification neither archived nor deleted. */
export const INBOX: View = { state: 'inbox' };

/** Registers a query parameter and returns its placeholder (`$n`). */
export type Param = (value: unknown) => string;

export const LIVE = '(n.expires_at IS NULL OR n.expires_at > now())';
export const COLUMNS =
  'n.id, n.user_id, n.topic, n.type, n.title, n.body, n.data, n.url, n.actions, n.actor, n.tags, n.created_at';

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

/** A direct row `n` in the user's state `s`. */
const D = {
  read: '(n.read_at IS NOT NULL OR n.tx_id < s.read_xmin)',
  seen: '(n.read_at IS NOT NULL OR n.seen_at IS NOT NULL OR n.tx_id < GREATEST(s.read_xmin, s.seen_xmin))',
  archived: 'COALESCE(n.archived, n.tx_id < s.archived_xmin)',
  deleted: '(n.deleted_at IS NOT NULL OR n.tx_id < s.deleted_xmin)',
};
/** A shared row `n` of stream `st`, with the user's receipt `r` (all nulls without one). */
const S = {
  read: '(r.read_at IS NOT NULL OR n.seq <= st.read)',
  seen: '(r.read_at IS NOT NULL OR r.seen_at IS NOT NULL OR n.seq <= st.seen)',
  archived: 'COALESCE(r.archived, n.seq <= st.archived)',
  deleted: '(r.deleted_at IS NOT NULL OR n.seq <= st.deleted)',
};
type RowState = typeof D;

/** The state columns a page returns: read and seen times (the mark's, or the mark-all's), archived. */
export const DIRECT_STATE = `
  COALESCE(n.read_at, CASE WHEN n.tx_id < s.read_xmin THEN s.read_all_at END) AS read_at,
  COALESCE(n.seen_at, CASE WHEN n.tx_id < s.seen_xmin THEN s.seen_all_at END, n.read_at,
           CASE WHEN n.tx_id < s.read_xmin THEN s.read_all_at END) AS seen_at,
  ${D.archived} AS archived`;
export const SHARED_STATE = `
  COALESCE(r.read_at, CASE WHEN n.seq <= st.read THEN s.read_all_at END) AS read_at,
  COALESCE(r.seen_at, r.read_at, CASE WHEN n.seq <= st.seen THEN COALESCE(s.seen_all_at, s.read_all_at) END) AS seen_at,
  ${S.archived} AS archived`;

/**
 * What a view's count counts: its unread notifications (unseen ones for `unseen`), i.e. the
 * view's state with "unread" added: `archived-unread` and `all-unread` for `archived` and `all`.
 */
type Counted = 'unread' | 'unseen' | 'archived-unread' | 'all-unread';
const COUNTED: Record<Exclude<View['state'], 'read'>, Counted> = {
  inbox: 'unread',
  unread: 'unread',
  unseen: 'unseen',
  archived: 'archived-unread',
  all: 'all-unread',
};

/** Whether a row in state `x` is in a view of `state`. */
function inState(state: View['state'] | Counted, x: RowState): string {
  const kept = `NOT ${x.deleted}`;
  switch (state) {
    case 'archived-unread':
      return `${kept} AND ${x.archived} AND NOT ${x.read}`;
    case 'all-unread':
      return `${kept} AND NOT ${x.read}`;
    case 'inbox':
      return `${kept} AND NOT ${x.archived}`;
    case 'unread':
      return `${kept} AND NOT ${x.archived} AND NOT ${x.read}`;
    case 'unseen':
      return `${kept} AND NOT ${x.archived} AND NOT ${x.seen}`;
    case 'read':
      return `${kept} AND NOT ${x.archived} AND ${x.read}`;
    case 'archived':
      return `${kept} AND ${x.archived}`;
    case 'all':
      return kept;
  }
}

/** Conditions on the row itself (type, tags, ids) a view adds, for any row `n`. */
function rowConditions(v: View, param: Param): string {
  const c = [LIVE];
  // One type is an equality, which the type indexes serve in id order (viewRows splits several).
  if (v.types) c.push(v.types.length === 1 ? `n.type = ${param(v.types[0])}` : `n.type = ANY(${param(v.types)}::varchar[])`);
  if (v.tags) c.push(`n.tags @> ${param(v.tags)}::text[]`);
  if (v.before) c.push(`n.id < ${param(v.before)}::bigint`);
  if (v.after) c.push(`n.id > ${param(v.after)}::bigint`);
  if (v.afterSql) c.push(`n.id > ${v.afterSql}::bigint`);
  return c.join(' AND ');
}

/** The stream's row at position `seq` (its id), 0 if there is none. */
const idAt = (seq: string) => `COALESCE((
  SELECT w.id FROM inbox_notification w
   WHERE w.user_id IS NULL AND COALESCE(w.topic, '') = st.stream AND w.seq = ${seq}), 0)`;

/**
 * How many rows of a direct view's watermark region a page looks back over for the ones the
 * watermark does not cover: rows of transactions still running when it was set, whose ids are
 * just below its id (the catch-up makes the same bound, see NotificationStore).
 */
export const WATERMARK_LOOKBACK = 100;

/**
 * The rows of view `v` the user may see, newest first, `limit` at most (an SQL expression;
 * `null` for all, to count them), as branches that each read one index range, to UNION ALL and
 * cut again; a row may come from two branches (ViewQuery keeps one). Needs USER_CTES; the
 * user is `user`.
 *
 * - Direct rows: those above the watermark region (`id > floor`), the few in flight when the
 *   watermark was set (among the WATERMARK_LOOKBACK rows just below it), and those archived or
 *   unarchived one by one (an index of their own).
 * - Each stream: its rows between the view's positions `low` and `high`, walking the id index
 *   newest first down to the row at `low` (a row in order above it has a greater id; the rows
 *   committed out of id order, `late`, are a branch of their own), and the rows whose own
 *   archived flag puts them in the view from outside that range.
 */
export function viewRows(user: string, v: View, limit: string | null, param: Param): string[] {
  // Per type its own branches: `type = ANY(…)` cannot walk a type index in id order.
  if (v.types && v.types.length > 1) return v.types.flatMap((type) => rowBranches(user, { ...v, types: [type] }, v.state, limit, param, true));
  return rowBranches(user, v, v.state, limit, param, true);
}

function rowBranches(
  user: string,
  v: View,
  state: View['state'] | Counted,
  limit: string | null,
  param: Param,
  direct: boolean,
): string[] {
  const page = limit === null ? '' : `ORDER BY n.id DESC LIMIT ${limit}`;
  const cond = rowConditions(v, param);
  const archivedView = state === 'archived' || state === 'archived-unread';
  const everything = state === 'all' || state === 'all-unread';
  const wantsUnarchived = !archivedView && !everything;
  const branches: string[] = [];
  // With tags, the long walks (the newest rows of the user, of a stream) go through the tag
  // index of one of them instead (`g`, the InboxStates migration's inbox_notification_tag): only
  // rows that carry it, newest first. `id` is the walked id column.
  const tag = v.tags ? param(v.tags[0]) : null;
  const plain = { from: 'inbox_notification n', where: '', id: 'n.id' };
  const walkFrom = (owner: string) =>
    tag
      ? { from: `inbox_notification_tag g JOIN inbox_notification n ON n.id = g.notification_id`, where: `g.owner = ${owner} AND g.tag = ${tag} AND `, id: 'g.notification_id' }
      : plain;

  if (direct && !v.topic) {
    const directRows = (where: (id: string) => string, w = walkFrom(`'u:' || ${user}`)) => `(
      SELECT ${COLUMNS}, ${DIRECT_STATE} FROM ${w.from} CROSS JOIN state s
       WHERE ${w.where}n.user_id = ${user} AND ${where(w.id)} AND ${inState(state, D)} AND ${cond} ${page})`;
    // At or below `floor` every row is covered by a watermark (deleted; archived too, for the
    // inbox views) but those of transactions running when it was set, and those archived or
    // unarchived one by one since.
    const floor = wantsUnarchived ? 'GREATEST(s.archived_id, s.deleted_id)' : 's.deleted_id';
    // Above `floor` no watermark covers a row (its transaction is no older than the watermark's
    // horizon): its own columns say it all, in a form the planner estimates well.
    const above = wantsUnarchived ? 'n.deleted_at IS NULL AND n.archived IS NOT TRUE' : 'n.deleted_at IS NULL';
    branches.push(directRows((id) => (archivedView ? `${id} <= s.archived_id AND ${id} > s.deleted_id` : `${id} > ${floor} AND ${above}`)));
    branches.push(`(
      SELECT ${COLUMNS}, ${DIRECT_STATE} FROM state s CROSS JOIN LATERAL (
        SELECT b.id FROM inbox_notification b
         WHERE b.user_id = ${user} AND b.id <= ${floor} ORDER BY b.id DESC LIMIT ${WATERMARK_LOOKBACK}) b
      JOIN inbox_notification n ON n.id = b.id
     WHERE ${inState(state, D)} AND ${cond} ${page})`);
    // `IS NOT NULL` lets the planner use the partial index of those (it does not infer it).
    if (!everything) branches.push(directRows(() => `n.archived IS NOT NULL AND n.archived = ${archivedView}`, plain));
  }

  const low = {
    'archived-unread': 'GREATEST(st.after, st.deleted, st.read)',
    'all-unread': 'GREATEST(st.after, st.deleted, st.read)',
    inbox: 'GREATEST(st.after, st.deleted, st.archived)',
    unread: 'GREATEST(st.after, st.deleted, st.archived, st.read)',
    unseen: 'GREATEST(st.after, st.deleted, st.archived, st.seen)',
    read: 'GREATEST(st.after, st.deleted, st.archived)',
    archived: 'GREATEST(st.after, st.deleted)',
    all: 'GREATEST(st.after, st.deleted)',
  }[state];
  // The archive ends at the archived watermark, the read view at the read one (with the
  // receipts of rows read one by one above it).
  const high = archivedView ? 'st.archived' : state === 'read' ? 'st.read' : null;
  const shared = (from: string, where: string) => `
    SELECT ${COLUMNS}, ${SHARED_STATE}
      FROM ${from}
      LEFT JOIN inbox_receipt r ON r.user_id = ${user} AND r.notification_id = n.id
     WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = st.stream AND n.seq > st.after AND ${where}
       AND ${inState(state, S)} AND ${cond} ${page}`;
  const w = walkFrom(`'s:' || st.stream`);
  const walk =
    `${w.where}NOT n.late AND n.seq + 0 > ${low} AND ${w.id} > ${idAt(low)}` +
    (high ? ` AND n.seq + 0 <= ${high} AND ${w.id} <= ${idAt(high)}` : '');
  const late = `n.late AND n.seq > ${low}` + (high ? ` AND n.seq <= ${high}` : '');
  const parts = [`(${shared(w.from, walk)})`, `(${shared('inbox_notification n', late)})`];
  if (!everything) {
    // Archived or unarchived one by one: outside the range the watermarks give the view.
    parts.push(`(${shared(
      `inbox_receipt o JOIN inbox_notification n ON n.id = o.notification_id`,
      `o.user_id = ${user} AND o.archived IS NOT NULL AND o.archived = ${archivedView} AND o.stream = st.stream AND ` +
        (archivedView ? `n.seq > st.archived` : `n.seq <= ${low}`),
    )})`);
  }
  if (state === 'read') {
    parts.push(`(${shared(
      `inbox_receipt o JOIN inbox_notification n ON n.id = o.notification_id`,
      `o.user_id = ${user} AND o.stream = st.stream AND o.seq > GREATEST(${low}, st.read) AND o.read_at IS NOT NULL`,
    )})`);
  }
  branches.push(`(SELECT x.* FROM streams st CROSS JOIN state s CROSS JOIN LATERAL (${parts.join(' UNION ALL ')}) x
                  WHERE ${streamFilter(v, param, limit === null)})`);
  return branches;
}

/** The streams a view reads: one topic's, or all; a count leaves the muted ones out. */
function streamFilter(v: View, param: Param, counting: boolean): string {
  const c = ['true'];
  if (v.topic) c.push(`st.stream = ${param(v.topic)}`);
  if (counting) c.push('NOT st.muted');
  return c.join(' AND ');
}

/** Whether row `n` is of a type the view counts: one of its types, never a muted one. */
function countedType(v: View, param: Param): string {
  return (v.types ? `n.type = ANY(${param(v.types)}::varchar[]) AND ` : '') + 'NOT n.type = ANY(s.muted_types)';
}

/**
 * How many of view `v`'s notifications are unread (unseen for `unseen`), exactly, leaving out
 * muted types and topics; an int SQL expression over USER_CTES. `v.state` is not `read`.
 *
 * Direct rows are counted among the user's unread ones (an index range above the read
 * watermark). A stream's are, without tags or an id range, a subtraction: the positions in the
 * view's range (lo, hi] (of the view's types, by their ordinals, less the muted types'), less
 * the expired ones, corrected by the user's receipts above the watermarks (read, seen,
 * archived, deleted one by one). Costs O(unread direct + subscriptions × (types + receipts
 * above the watermark)), never the stream's length. With tags or an id range the stream's
 * unread rows are walked instead: O(unread).
 */
export function viewCount(user: string, v: View, param: Param): string {
  const counted = COUNTED[v.state as Exclude<View['state'], 'read'>];
  const direct = v.topic
    ? '0'
    : `(SELECT count(*) FROM inbox_notification n CROSS JOIN state s
         WHERE n.user_id = ${user} AND n.read_at IS NULL AND n.tx_id >= s.read_xmin
           AND ${inState(counted, D)} AND ${rowConditions(v, param)} AND ${countedType(v, param)})`;
  if (v.tags || v.before || v.after) {
    const rows = rowBranches(user, v, counted, null, param, false).join(' UNION ALL ');
    return `(${direct} + (SELECT count(DISTINCT x.id) FROM (${rows}) x CROSS JOIN state s
                          WHERE NOT x.type = ANY(s.muted_types)))::int`;
  }
  const base = {
    unread: 'GREATEST(st.after, st.deleted, st.read)',
    unseen: 'GREATEST(st.after, st.deleted, st.seen)',
    'archived-unread': 'GREATEST(st.after, st.deleted, st.read)',
    'all-unread': 'GREATEST(st.after, st.deleted, st.read)',
  }[counted];
  const [lo, hi] = {
    unread: [`GREATEST(${base}, st.archived)`, 't.seq'],
    unseen: [`GREATEST(${base}, st.archived)`, 't.seq'],
    'archived-unread': [base, `GREATEST(${base}, st.archived)`],
    'all-unread': [base, 't.seq'],
  }[counted];
  // How many of the stream's rows (of `type`, if given) have a position up to p: the ordinal
  // of the next one less one (rows retention deleted are below every one left), or the last.
  const ord = (p: string, type?: string) =>
    type
      ? `COALESCE((SELECT x.type_seq - 1 FROM inbox_notification x
                    WHERE x.user_id IS NULL AND COALESCE(x.topic, '') = st.stream AND x.type = ${type} AND x.seq > ${p}
                    ORDER BY x.seq LIMIT 1),
                  (SELECT y.seq FROM inbox_stream_type y WHERE y.stream = st.stream AND y.type = ${type}), 0)`
      : `COALESCE((SELECT x.seq - 1 FROM inbox_notification x
                    WHERE x.user_id IS NULL AND COALESCE(x.topic, '') = st.stream AND x.seq > ${p}
                    ORDER BY x.seq LIMIT 1), t.seq)`;
  const ofTypes = (types: string) =>
    `COALESCE((SELECT sum(${ord(hi, 'k.type')} - ${ord(lo, 'k.type')}) FROM unnest(${types}) k(type)), 0)`;
  const positions = v.types
    ? ofTypes(`(SELECT array_agg(k) FROM unnest(${param(v.types)}::varchar[]) k WHERE NOT k = ANY(s.muted_types))`)
    : `${ord(hi)} - ${ord(lo)} - ${ofTypes('s.muted_types')}`;
  const type = countedType(v, param);
  const stream = `(
    ${positions}
    - (SELECT count(*) FROM inbox_notification n
        WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = st.stream AND n.seq > ${lo} AND n.seq <= ${hi}
          AND n.expires_at <= now() AND ${type}
          AND NOT EXISTS (SELECT 1 FROM inbox_receipt r WHERE r.user_id = ${user} AND r.notification_id = n.id))
    + (SELECT COALESCE(sum(CASE WHEN ${inState(counted, S)} AND ${LIVE} THEN 1 ELSE 0 END
                         - CASE WHEN n.seq > ${lo} AND n.seq <= ${hi} THEN 1 ELSE 0 END), 0)
         FROM inbox_receipt r JOIN inbox_notification n ON n.id = r.notification_id
        WHERE r.user_id = ${user} AND r.stream = st.stream AND r.seq > ${base} AND ${type}))`;
  return `(${direct} + COALESCE((SELECT sum${stream}
      FROM streams st CROSS JOIN state s JOIN inbox_stream t ON t.stream = st.stream
     WHERE ${streamFilter(v, param, true)}), 0))::int`;
}
