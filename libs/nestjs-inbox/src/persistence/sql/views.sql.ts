import type { View } from '../inbox-model';
import type { Param } from './params';
import {
  COLUMNS,
  DIRECT_ROW,
  directParts,
  DIRECT_STATE,
  IN_FLIGHT_LOOKBACK,
  LIVE,
  OF_STREAM,
  type RowState,
  SHARED_ROW,
  SHARED_STATE,
  tagOwner,
  USER_CTES,
} from './row-state.sql';

/**
 * The SQL of a user's inbox views: which of the notifications a user may see are in a view, in
 * what state, newest first. Builders only: the repositories run what they return.
 */

/**
 * What a view's count counts (see counts.sql.ts): its unread notifications (unseen ones for
 * `unseen`), i.e. the view's state with "unread" added: `archived-unread` and `all-unread` for
 * `archived` and `all`.
 */
export type Counted = 'unread' | 'unseen' | 'archived-unread' | 'all-unread';

/** Whether a row in state `x` is in a view of `state`. */
export function inState(state: View['state'] | Counted, x: RowState): string {
  const kept = `NOT ${x.deleted.is}`;
  switch (state) {
    case 'archived-unread':
      return `${kept} AND ${x.archived.is} AND NOT ${x.read.is}`;
    case 'all-unread':
      return `${kept} AND NOT ${x.read.is}`;
    case 'inbox':
      return `${kept} AND NOT ${x.archived.is}`;
    case 'unread':
      return `${kept} AND NOT ${x.archived.is} AND NOT ${x.read.is}`;
    case 'unseen':
      return `${kept} AND NOT ${x.archived.is} AND NOT ${x.seen.is}`;
    case 'read':
      return `${kept} AND NOT ${x.archived.is} AND ${x.read.is}`;
    case 'archived':
      return `${kept} AND ${x.archived.is}`;
    case 'all':
      return kept;
  }
}

/** Conditions on the row itself (type, tags, ids) a view adds, for any row `n`. */
export function rowConditions(v: View, param: Param): string {
  const c = [LIVE];
  // One type is an equality, which the type indexes serve in id order (viewRows splits several).
  if (v.types) c.push(v.types.length === 1 ? `n.type = ${param(v.types[0])}` : `n.type = ANY(${param(v.types)}::varchar[])`);
  if (v.tags) c.push(`n.tags @> ${param(v.tags)}::text[]`);
  if (v.before) c.push(`n.id < ${param(v.before)}::bigint`);
  if (v.after) c.push(`n.id > ${param(v.after)}::bigint`);
  if (v.afterSql) c.push(`n.id > ${v.afterSql}::bigint`);
  return c.join(' AND ');
}

/** The streams a view reads: one topic's, or all; a count leaves the muted ones out. */
export function streamFilter(v: View, param: Param, counting: boolean): string {
  const c = ['true'];
  if (v.topic) c.push(`st.stream = ${param(v.topic)}`);
  if (counting) c.push('NOT st.muted');
  return c.join(' AND ');
}

/**
 * One page of view rows of the inbox (`user`, `scope`: SQL expressions, see USER_CTES), newest
 * first, `limit` at most, each once; `ctes` may add WITH clauses, `extra` whole branches (rows
 * found by id, see catch-up.sql.ts).
 */
export function pageSql(user: string, scope: string, limit: string, view: View, param: Param, ctes = '', extra: string[] = []): string {
  return `WITH ${USER_CTES(user, scope)}${ctes}
    SELECT DISTINCT ON (v.id) v.* FROM (${[...viewRows(user, scope, view, limit, param), ...extra].join(' UNION ALL ')}) v
     ORDER BY v.id DESC LIMIT ${limit}`;
}

/**
 * The rows of view `v` the user may see, newest first, `limit` at most (an SQL expression;
 * `null` for all, to count them), as branches that each read one index range, to UNION ALL and
 * cut again; a row may come from two branches (pageSql keeps one). Needs USER_CTES; the
 * user is `user`.
 *
 * - Direct rows: those above the watermark region (`id > floor`), the few in flight when the
 *   watermark was set (among the IN_FLIGHT_LOOKBACK rows just below it), and those archived or
 *   unarchived one by one (an index of their own).
 * - Each stream: its rows between the view's positions `low` and `high`, walking the id index
 *   newest first down to the row at `low` (a row in order above it has a greater id; the rows
 *   committed out of id order, `late`, are a branch of their own), and the rows whose own
 *   archived flag puts them in the view from outside that range.
 */
export function viewRows(user: string, scope: string, v: View, limit: string | null, param: Param): string[] {
  // Per type its own branches: `type = ANY(…)` cannot walk a type index in id order.
  if (v.types && v.types.length > 1)
    return v.types.flatMap((type) => rowBranches(user, { ...v, types: [type] }, v.state, limit, param, scope));
  return rowBranches(user, v, v.state, limit, param, scope);
}

/** What the branches of one view share (see rowBranches). */
interface Branches {
  user: string;
  state: View['state'] | Counted;
  /** The page's ORDER BY and LIMIT, or nothing to count. */
  page: string;
  /** rowConditions of the view. */
  cond: string;
  /** The placeholder of the view's first tag, if it has tags. */
  tag: string | null;
  archivedView: boolean;
  everything: boolean;
}

/**
 * The branches of viewRows: with the user's own rows of the inbox of scope `direct` (an SQL
 * expression, see directParts) unless it is null or the view is one topic's.
 */
export function rowBranches(
  user: string,
  v: View,
  state: View['state'] | Counted,
  limit: string | null,
  param: Param,
  direct: string | null,
): string[] {
  const b: Branches = {
    user,
    state,
    page: limit === null ? '' : `ORDER BY n.id DESC LIMIT ${limit}`,
    cond: rowConditions(v, param),
    tag: v.tags ? param(v.tags[0]) : null,
    archivedView: state === 'archived' || state === 'archived-unread',
    everything: state === 'all' || state === 'all-unread',
  };
  const branches = direct !== null && !v.topic ? directParts(direct).flatMap((part) => directBranches(b, part)) : [];
  branches.push(`(SELECT x.* FROM streams st CROSS JOIN LATERAL (${streamParts(b).join(' UNION ALL ')}) x
                  WHERE ${streamFilter(v, param, limit === null)})`);
  return branches;
}

const PLAIN = { from: 'inbox_notification n', where: '', id: 'n.id' };
/**
 * With tags, the long walks (the newest rows of the user, of a stream) go through the tag index
 * of one of them instead (`g`, the InboxStates migration's inbox_notification_tag): only rows
 * that carry it, newest first. `id` is the walked id column.
 */
function walkFrom(tag: string | null, owner: string): { from: string; where: string; id: string } {
  return tag
    ? {
        from: `inbox_notification_tag g JOIN inbox_notification n ON n.id = g.notification_id`,
        where: `g.owner = ${owner} AND g.tag = ${tag} AND `,
        id: 'g.notification_id',
      }
    : PLAIN;
}

/**
 * The branches of the direct rows of one part of the inbox (directParts: the unscoped rows, or
 * the scope's), with that part's `state` row `s`: each walks one index range, newest first.
 */
function directBranches(
  { user, state, page, cond, tag, archivedView, everything }: Branches,
  part: ReturnType<typeof directParts>[number],
): string[] {
  const wantsUnarchived = !archivedView && !everything;
  // LATERAL: the page's order and limit inside, so that the walk can stop at the page.
  const directRows = (where: (id: string) => string, w = walkFrom(tag, tagOwner(part.expr, user))) => `(
      SELECT x.* FROM ${part.state} s CROSS JOIN LATERAL (
        SELECT ${COLUMNS}, ${DIRECT_STATE} FROM ${w.from}
         WHERE ${w.where}n.user_id = ${user} AND n.scope = ${part.expr} AND ${where(w.id)}
           AND ${inState(state, DIRECT_ROW)} AND ${cond} ${page}) x)`;
  // At or below `floor` every row is covered by a watermark (deleted; archived too, for the
  // inbox views) but those of transactions running when it was set, and those archived or
  // unarchived one by one since.
  const floor = wantsUnarchived ? 'GREATEST(s.archived_id, s.deleted_id)' : 's.deleted_id';
  // Above `floor` no watermark covers a row (its transaction is no older than the watermark's
  // horizon): its own columns say it all, in a form the planner estimates well.
  const above = wantsUnarchived ? 'n.deleted_at IS NULL AND n.archived IS NOT TRUE' : 'n.deleted_at IS NULL';
  const branches = [
    directRows((id) => (archivedView ? `${id} <= s.archived_id AND ${id} > s.deleted_id` : `${id} > ${floor} AND ${above}`)),
  ];
  branches.push(`(
      SELECT ${COLUMNS}, ${DIRECT_STATE} FROM ${part.state} s CROSS JOIN LATERAL (
        SELECT b.id FROM inbox_notification b
         WHERE b.user_id = ${user} AND b.scope = ${part.expr} AND b.id <= ${floor}
         ORDER BY b.id DESC LIMIT ${IN_FLIGHT_LOOKBACK}) b
      JOIN inbox_notification n ON n.id = b.id
     WHERE ${inState(state, DIRECT_ROW)} AND ${cond} ${page})`);
  // `IS NOT NULL` lets the planner use the partial index of those (it does not infer it).
  if (!everything) branches.push(directRows(() => `n.archived IS NOT NULL AND n.archived = ${archivedView}`, PLAIN));
  return branches;
}

/** Per view state, the position of a stream the view starts above. */
const LOW: Record<View['state'] | Counted, string> = {
  'archived-unread': 'GREATEST(st.after, st.deleted, st.read)',
  'all-unread': 'GREATEST(st.after, st.deleted, st.read)',
  inbox: 'GREATEST(st.after, st.deleted, st.archived)',
  unread: 'GREATEST(st.after, st.deleted, st.archived, st.read)',
  unseen: 'GREATEST(st.after, st.deleted, st.archived, st.seen)',
  read: 'GREATEST(st.after, st.deleted, st.archived)',
  archived: 'GREATEST(st.after, st.deleted)',
  all: 'GREATEST(st.after, st.deleted)',
};

/** The stream's row at position `seq` (its id), 0 if there is none. */
const idAt = (seq: string) => `COALESCE((
  SELECT w.id FROM inbox_notification w WHERE ${OF_STREAM('w')} AND w.seq = ${seq}), 0)`;

/** The branches of one stream `st`'s rows in the view, for a LATERAL join over `streams`. */
function streamParts({ user, state, page, cond, tag, archivedView, everything }: Branches): string[] {
  const low = LOW[state];
  // The archive ends at the archived watermark, the read view at the read one (with the
  // receipts of rows read one by one above it).
  const high = archivedView ? 'st.archived' : state === 'read' ? 'st.read' : null;
  const shared = (from: string, where: string) => `
    SELECT ${COLUMNS}, ${SHARED_STATE}
      FROM ${from}
      LEFT JOIN inbox_receipt r ON r.user_id = ${user} AND r.notification_id = n.id
     WHERE ${OF_STREAM('n')} AND n.seq > st.after AND ${where}
       AND ${inState(state, SHARED_ROW)} AND ${cond} ${page}`;
  const w = walkFrom(tag, tagOwner('st.scope', null, 'st.stream'));
  const walk =
    `${w.where}NOT n.late AND n.seq + 0 > ${low} AND ${w.id} > ${idAt(low)}` +
    (high ? ` AND n.seq + 0 <= ${high} AND ${w.id} <= ${idAt(high)}` : '');
  const late = `n.late AND n.seq > ${low}` + (high ? ` AND n.seq <= ${high}` : '');
  const parts = [`(${shared(w.from, walk)})`, `(${shared('inbox_notification n', late)})`];
  if (!everything) {
    // Archived or unarchived one by one: outside the range the watermarks give the view.
    parts.push(
      `(${shared(
        `inbox_receipt o JOIN inbox_notification n ON n.id = o.notification_id`,
        `o.user_id = ${user} AND o.archived IS NOT NULL AND o.archived = ${archivedView} AND o.stream = st.stream AND o.scope = st.scope AND ` +
          (archivedView ? `n.seq > st.archived` : `n.seq <= ${low}`),
      )})`,
    );
  }
  if (state === 'read') {
    parts.push(
      `(${shared(
        `inbox_receipt o JOIN inbox_notification n ON n.id = o.notification_id`,
        `o.user_id = ${user} AND o.stream = st.stream AND o.scope = st.scope AND o.seq > GREATEST(${low}, st.read) AND o.read_at IS NOT NULL`,
      )})`,
    );
  }
  return parts;
}
