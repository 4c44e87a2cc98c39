import { INBOX, type View } from '../inbox-model';
import { builtOnce, noValues, type Param } from './params';
import { DIRECT_ROW, LIVE, OF_STREAM, SHARED_ROW, USER_CTES } from './row-state.sql';
import { type Counted, inState, rowBranches, rowConditions, streamFilter } from './views.sql';

/** Per view state (but `read`, which has no unread ones), what its count counts. */
const COUNTED: Record<Exclude<View['state'], 'read'>, Counted> = {
  inbox: 'unread',
  unread: 'unread',
  unseen: 'unseen',
  archived: 'archived-unread',
  all: 'all-unread',
};

/** The unseen count: the inbox view, counting unseen rather than unread. */
const UNSEEN: View = { state: 'unseen' };

/** The badge of the inbox of `user` as two columns, `unread` and `unseen`, over USER_CTES. */
export const badgeColumns = (user: string, param: Param) =>
  `${viewCount(user, INBOX, param)} AS unread, ${viewCount(user, UNSEEN, param)} AS unseen`;

/** Whether row `n` is of a type the view counts: one of its types, never a muted one. */
function countedType(v: View, param: Param): string {
  return (v.types ? `n.type = ANY(${param(v.types)}::varchar[]) AND ` : '') + 'NOT n.type = ANY(s.muted_types)';
}

/**
 * How many of view `v`'s notifications are unread (unseen for `unseen`), exactly, leaving out
 * muted types and topics; an int SQL expression over USER_CTES. `v.state` is not `read`.
 *
 * Direct rows are counted among the user's unread ones (an index range above the read
 * watermark). A stream's are, without tags or an id range, a subtraction (see streamCount).
 * With tags or an id range the stream's unread rows are walked instead: O(unread).
 */
export function viewCount(user: string, v: View, param: Param): string {
  const counted = COUNTED[v.state as Exclude<View['state'], 'read'>];
  const direct = v.topic
    ? '0'
    : `(SELECT count(*) FROM inbox_notification n CROSS JOIN state s
         WHERE n.user_id = ${user} AND n.scope = s.scope AND n.read_at IS NULL AND n.tx_id >= s.read_xmin
           AND ${inState(counted, DIRECT_ROW)} AND ${rowConditions(v, param)} AND ${countedType(v, param)})`;
  if (v.tags || v.before || v.after) {
    const rows = rowBranches(user, v, counted, null, param, null).join(' UNION ALL ');
    return `(${direct} + (SELECT count(DISTINCT x.id) FROM (${rows}) x CROSS JOIN prefs s
                          WHERE NOT x.type = ANY(s.muted_types)))::int`;
  }
  return `(${direct} + COALESCE((SELECT sum${streamCount(user, v, counted, param)}
      FROM streams st CROSS JOIN prefs s JOIN inbox_stream t ON t.stream = st.stream AND t.scope = st.scope
     WHERE ${streamFilter(v, param, true)}), 0))::int`;
}

/** Per count, the position of a stream below which every row is read (seen) or deleted. */
const BASE: Record<Counted, string> = {
  unread: 'GREATEST(st.after, st.deleted, st.read)',
  unseen: 'GREATEST(st.after, st.deleted, st.seen)',
  'archived-unread': 'GREATEST(st.after, st.deleted, st.read)',
  'all-unread': 'GREATEST(st.after, st.deleted, st.read)',
};

/** Per count, the range of positions (lo, hi] of a stream `st` (at `t.seq` now) that it counts. */
function positionRange(counted: Counted): [string, string] {
  const base = BASE[counted];
  return {
    unread: [`GREATEST(${base}, st.archived)`, 't.seq'],
    unseen: [`GREATEST(${base}, st.archived)`, 't.seq'],
    'archived-unread': [base, `GREATEST(${base}, st.archived)`],
    'all-unread': [base, 't.seq'],
  }[counted] as [string, string];
}

/**
 * How many of the stream's rows (of `type`, if given) have a position up to p: the ordinal of
 * the next one less one (rows retention deleted are below every one left), or the last.
 */
function ordinal(p: string, type?: string): string {
  return type
    ? `COALESCE((SELECT x.type_seq - 1 FROM inbox_notification x
                    WHERE ${OF_STREAM('x')} AND x.type = ${type} AND x.seq > ${p}
                    ORDER BY x.seq LIMIT 1),
                  (SELECT y.seq FROM inbox_stream_type y WHERE y.stream = st.stream AND y.scope = st.scope AND y.type = ${type}), 0)`
    : `COALESCE((SELECT x.seq - 1 FROM inbox_notification x
                    WHERE ${OF_STREAM('x')} AND x.seq > ${p}
                    ORDER BY x.seq LIMIT 1), t.seq)`;
}

/**
 * One stream's count, a parenthesised SQL expression: the positions in the view's range
 * (lo, hi] (of the view's types, by their ordinals, less the muted types'), less the expired
 * ones, corrected by the user's receipts above the watermarks (read, seen, archived, deleted
 * one by one). Costs O(types + receipts above the watermark), never the stream's length.
 */
function streamCount(user: string, v: View, counted: Counted, param: Param): string {
  const base = BASE[counted];
  const [lo, hi] = positionRange(counted);
  const ofTypes = (types: string) =>
    `COALESCE((SELECT sum(${ordinal(hi, 'k.type')} - ${ordinal(lo, 'k.type')}) FROM unnest(${types}) k(type)), 0)`;
  const positions = v.types
    ? ofTypes(`(SELECT array_agg(k) FROM unnest(${param(v.types)}::varchar[]) k WHERE NOT k = ANY(s.muted_types))`)
    : `${ordinal(hi)} - ${ordinal(lo)} - ${ofTypes('s.muted_types')}`;
  const type = countedType(v, param);
  return `(
    ${positions}
    - (SELECT count(*) FROM inbox_notification n
        WHERE ${OF_STREAM('n')} AND n.seq > ${lo} AND n.seq <= ${hi}
          AND n.expires_at <= now() AND ${type}
          AND NOT EXISTS (SELECT 1 FROM inbox_receipt r WHERE r.user_id = ${user} AND r.notification_id = n.id))
    + (SELECT COALESCE(sum(CASE WHEN ${inState(counted, SHARED_ROW)} AND ${LIVE} THEN 1 ELSE 0 END
                         - CASE WHEN n.seq > ${lo} AND n.seq <= ${hi} THEN 1 ELSE 0 END), 0)
         FROM inbox_receipt r JOIN inbox_notification n ON n.id = r.notification_id
        WHERE r.user_id = ${user} AND r.stream = st.stream AND r.scope = st.scope AND r.seq > ${base} AND ${type}))`;
}

/**
 * The counts of `views` (columns c0, c1, …) of each inbox of $1 (user ids) and $2 (their scopes,
 * '' unscoped), by `ord` (their position, from 1), in one statement.
 */
export function countsSql(views: View[], param: Param): string {
  const columns = views.map((v, i) => `${viewCount('u.user_id', v, param)} AS c${i}`).join(', ');
  return `SELECT u.user_id, u.ord, x.* FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS u(user_id, scope, ord)
         CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id', 'u.scope')} SELECT ${columns}) x`;
}

/** The badge (`unread`, `unseen`) of each inbox of $1 (user ids) and $2 (scopes, '' unscoped), by `ord`, in one statement. */
export const badgesSql = () =>
  builtOnce(
    'badges',
    () =>
      `SELECT u.user_id, u.ord, x.* FROM unnest($1::varchar[], $2::varchar[]) WITH ORDINALITY AS u(user_id, scope, ord)
         CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id', 'u.scope')} SELECT ${badgeColumns('u.user_id', noValues)}) x`,
  );
