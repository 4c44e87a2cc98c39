import { INBOX } from '../inbox-model';
import { builtOnce, noValues, type Param } from './params';
import { badgeColumns } from './counts.sql';
import {
  COLUMNS,
  DIRECT_ROW,
  DIRECT_STATE,
  directParts,
  IN_FLIGHT_LOOKBACK,
  LIVE,
  OF_STREAM,
  SHARED_STATE,
  USER_CTES,
} from './row-state.sql';
import { pageSql } from './views.sql';

/**
 * The SQL of what a client missed: a reconnecting socket's catch-up (from its cursor, or the
 * newest page of a first visit, with its badge), and what committed since a transaction horizon.
 */

/**
 * Rows among the newest `lookback` of each stream (below `below`, if given) that
 * `accept` (over the columns tx_id, created_at of `b`), chosen from the indexes alone and then
 * read by id, as two branches for pageSql (`extra`) and the CTEs they need (`ctes`). Deleted
 * ones are left out; archived ones are not (a client that holds them learns their state).
 */
function recent(user: string, scope: string, lookback: string, below: string | null, accept: string): { ctes: string; extra: string[] } {
  const bound = below ? `AND n.id < ${below}` : '';
  // Per part of the inbox (directParts), its scope written out: an index range walked newest first.
  const direct = directParts(scope).map(
    (part) => `(SELECT n.id, n.tx_id, n.created_at, ${part.expr}::varchar AS scope FROM inbox_notification n
                 WHERE ${part.guard} AND n.user_id = ${user} AND n.scope = ${part.expr} AND NOT n.superseded ${bound}
                 ORDER BY n.id DESC LIMIT ${lookback})`,
  );
  const ctes = `,
      recent_direct AS (
        SELECT b.id, b.scope FROM (${direct.join(' UNION ALL ')}) b
         WHERE ${accept}
      ), recent_shared AS (
        SELECT b.id, st.stream, st.scope FROM streams st CROSS JOIN LATERAL (
          SELECT n.id, n.tx_id, n.created_at FROM inbox_notification n
           WHERE ${OF_STREAM('n')} ${bound}
           ORDER BY n.id DESC LIMIT ${lookback}) b
         WHERE ${accept}
      )`;
  const extra = [
    `(SELECT ${COLUMNS}, ${DIRECT_STATE}
          FROM recent_direct b JOIN inbox_notification n ON n.id = b.id JOIN state s ON s.scope = b.scope
         WHERE ${LIVE} AND ${DIRECT_ROW.deleted.isNot})`,
    `(SELECT ${COLUMNS}, ${SHARED_STATE}
          FROM recent_shared b JOIN streams st ON st.stream = b.stream AND st.scope = b.scope
          JOIN inbox_notification n ON n.id = b.id
          LEFT JOIN receipts r ON r.notification_id = n.id
         WHERE n.seq > GREATEST(st.after, st.deleted) AND r.deleted_at IS NULL AND ${LIVE})`,
  ];
  return { ctes, extra };
}

/**
 * What a client holding `cursor` may lack, newest first: everything newer it may see (but
 * deleted), plus two kinds of older rows. Those whose transactions were still open when the
 * cursor's row was written (they can commit after it), and those that began within `grace`
 * ms before it (committed just before it, their live emit may have been lost with an
 * instance that died), less those the client says it holds (`held`); it drops any other one
 * it has by id. The older ones are looked for among the IN_FLIGHT_LOOKBACK rows of each stream
 * below the cursor.
 */
function catchUpSql(
  user: string,
  scope: string,
  limit: string,
  param: Param,
  from: { cursor: string; grace: string; held: string },
): string {
  // The anchor's columns come from a CTE: no row (so only `id >`) if the row is gone.
  const anchor = `,
      anchor AS (SELECT a.tx_horizon, a.created_at - ${from.grace}::int * interval '1 millisecond' AS since
                   FROM inbox_notification a WHERE a.id = ${from.cursor}::bigint)`;
  const late = recent(
    user,
    scope,
    String(IN_FLIGHT_LOOKBACK),
    `${from.cursor}::bigint`,
    `b.id <> ALL(${from.held}) AND EXISTS (SELECT 1 FROM anchor WHERE b.tx_id >= anchor.tx_horizon OR b.created_at >= anchor.since)`,
  );
  return pageSql(user, scope, limit, { state: 'all', afterSql: from.cursor }, param, anchor + late.ctes, late.extra);
}

/**
 * The reads of many connecting sockets in one statement, all with a cursor (`withCursor`) or
 * none: parameters $1 user ids, $2 their inboxes' scopes ('' unscoped), $3 cursors, $4 held ids
 * (comma-separated), $5 the limit, $6 the grace ms (with a cursor). Per socket, its badge and its rows (`x.*`, all null for none).
 *
 * OFFSET 0 keeps the counts columns of each socket's row, computed once: flattened, the
 * planner evaluated them once per notification read (1,000 counts for a 1,000-row catch-up).
 * `newest`, the newest committed id in this statement's snapshot, is where a client that
 * holds nothing newer resumes (see CatchUp.cursor).
 */
export function catchUpsSql(withCursor: boolean): string {
  const reads = () =>
    withCursor
      ? catchUpSql('u.user_id', 'u.scope', '$5', noValues, {
          cursor: 'u.cursor',
          grace: '$6',
          held: "string_to_array(u.held, ',')::bigint[]",
        })
      : pageSql('u.user_id', 'u.scope', '$5', INBOX, noValues);
  return builtOnce(
    withCursor ? 'catch-ups from a cursor' : 'catch-ups of first visits',
    () =>
      `SELECT u.ord, u.unread, u.unseen, (SELECT max(m.id)::text FROM inbox_notification m) AS newest, x.*
         FROM (SELECT u.*, b.* FROM unnest($1::varchar[], $2::varchar[], $3::bigint[], $4::text[])
                                    WITH ORDINALITY AS u(user_id, scope, cursor, held, ord)
                 CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id', 'u.scope')} SELECT ${badgeColumns('u.user_id', noValues)}) b
               OFFSET 0) u
         LEFT JOIN LATERAL (${reads()}) x ON true`,
  );
}

/**
 * What the inbox of user $1 in scope $2 ('' unscoped) shows among rows committed since the
 * horizon $4, newest first, among the newest $3 of each stream.
 */
export function committedSinceSql(): string {
  const since = recent('$1', '$2', '$3', null, 'b.tx_id >= $4::bigint');
  return `WITH ${USER_CTES('$1', '$2')}${since.ctes}
       SELECT DISTINCT ON (v.id) v.* FROM (${since.extra.join(' UNION ALL ')}) v ORDER BY v.id DESC LIMIT $3`;
}

/**
 * What user $1 sees of topic $3 in scope $2 ('' unscoped: the stream of the subscription (U, T,
 * scope)) among rows committed since the horizon $4 and after the stream's position $5, oldest
 * first. $5 bounds the walk to what is new: a subscription made before starts further back
 * (2,000 positions read to return a handful, docs/performance.md).
 */
export const TOPIC_COMMITTED_SINCE_SQL = `WITH ${USER_CTES('$1', '$2')}
       SELECT ${COLUMNS}, ${SHARED_STATE} FROM streams st
         JOIN inbox_notification n ON ${OF_STREAM('n')} AND n.seq > GREATEST(st.after, $5::bigint)
         LEFT JOIN inbox_receipt r ON r.user_id = $1 AND r.notification_id = n.id
        WHERE st.stream = $3 AND st.scope = $2 AND n.tx_id >= $4::bigint AND ${LIVE} ORDER BY n.id`;
