import type { Mark, View } from '../inbox-model';
import type { Param } from './params';
import { viewCount } from './counts.sql';
import { DIRECT_ROW, directParts, IN_FLIGHT_LOOKBACK, LIVE, SHARED_ROW, USER_CTES } from './row-state.sql';

/**
 * The SQL of state changes: marks one by one (by id), and "all" (watermarks). Builders only:
 * InboxStateRepository runs what they return.
 */

/**
 * Per change: the column it sets and its value (the same on a direct row and on a receipt),
 * and which rows it changes: a direct row `n` in the user's state `s`, or a shared one with
 * receipt `r` in stream `st` (see row-state.sql.ts), that is not in that state already.
 */
const MARKS: Record<Mark, { column: string; value: string; direct: string; shared: string }> = {
  seen: { column: 'seen_at', value: 'now()', direct: DIRECT_ROW.seen.isNot, shared: SHARED_ROW.seen.isNot },
  read: { column: 'read_at', value: 'now()', direct: DIRECT_ROW.read.isNot, shared: SHARED_ROW.read.isNot },
  archived: { column: 'archived', value: 'true', direct: DIRECT_ROW.archived.isNot, shared: SHARED_ROW.archived.isNot },
  unarchived: { column: 'archived', value: 'false', direct: DIRECT_ROW.archived.is, shared: SHARED_ROW.archived.is },
  // Every statement leaves deleted rows out already.
  deleted: { column: 'deleted_at', value: 'now()', direct: 'true', shared: 'true' },
};

/**
 * Sets the change on the notifications among $3 (ids) that the inbox of user $1 in scope $2
 * ('' unscoped) shows and that it changes (not deleted, not already in that state): direct rows
 * in place, shared rows in the user's receipts. Returns the ids changed.
 */
export function markSql(change: Mark): string {
  const m = MARKS[change];
  return `WITH ${USER_CTES('$1', '$2')}, direct AS (
         UPDATE inbox_notification n SET ${m.column} = ${m.value} FROM state s
          WHERE n.id = ANY($3::bigint[]) AND n.user_id = $1 AND n.scope = s.scope AND ${LIVE}
            AND ${DIRECT_ROW.deleted.isNot} AND ${m.direct}
         RETURNING n.id
       ), shared AS (
         INSERT INTO inbox_receipt AS o (user_id, notification_id, stream, scope, seq, ${m.column})
         SELECT $1, n.id, st.stream, st.scope, n.seq, ${m.value}
           -- Looked up by id (OFFSET 0 keeps the planner from walking a stream's index instead).
           FROM (SELECT * FROM inbox_notification WHERE id = ANY($3::bigint[]) AND user_id IS NULL OFFSET 0) n
           JOIN streams st ON st.stream = COALESCE(n.topic, '') AND st.scope = n.scope
                          AND n.seq > GREATEST(st.after, st.deleted)
           LEFT JOIN inbox_receipt r ON r.user_id = $1 AND r.notification_id = n.id
          WHERE ${LIVE} AND r.deleted_at IS NULL AND ${m.shared}
         ON CONFLICT (user_id, notification_id) DO UPDATE SET ${m.column} = EXCLUDED.${m.column}
         RETURNING notification_id AS id
       )
       SELECT id::text FROM direct UNION ALL SELECT id::text FROM shared`;
}

/** A change that "all" can make: unarchiving all is unarchiving the archive, by filter. */
export type MarkAll = Exclude<Mark, 'unarchived'>;

/**
 * What "all" moves per state: the user's direct watermark (the oldest transaction running, and
 * for archived and deleted the id sequence's value, see the InboxStates migration) and the
 * stream positions; `unmarked`, a direct row its own column does not mark yet.
 */
const WATERMARKS: Record<MarkAll, { direct: string[]; broadcast: string; topic: string; at?: string; unmarked: string }> = {
  seen: {
    direct: ['direct_seen_xmin'],
    broadcast: 'broadcast_seen_seq',
    topic: 'seen_seq',
    at: 'seen_all_at',
    unmarked: 'n.seen_at IS NULL',
  },
  read: {
    direct: ['direct_read_xmin'],
    broadcast: 'broadcast_read_seq',
    topic: 'read_seq',
    at: 'read_all_at',
    unmarked: 'n.read_at IS NULL',
  },
  archived: {
    direct: ['direct_archived_xmin', 'direct_archived_id'],
    broadcast: 'broadcast_archived_seq',
    topic: 'archived_seq',
    unmarked: 'n.archived IS NOT TRUE',
  },
  deleted: {
    direct: ['direct_deleted_xmin', 'direct_deleted_id'],
    broadcast: 'broadcast_deleted_seq',
    topic: 'deleted_seq',
    unmarked: 'n.deleted_at IS NULL',
  },
};

/**
 * Sets the change on everything the inbox of user $1 in scope $2 ('' unscoped) shows, in
 * O(subscriptions): the watermarks of each of its parts (the scope's, and the unscoped one's:
 * state shared by every scope, docs/scopes.md) move to the end of each stream, and the direct
 * ones to the oldest transaction still running (every older one has ended, so its rows are
 * exactly what the user could see). The few direct rows
 * of younger transactions that are already committed are marked one by one. Archiving all
 * also drops the earlier "unarchived" marks (they are archived again). Returns `count`: how
 * many notifications of the inbox it changed, counted as view `count` counts them, before.
 */
export function markAllSql(change: MarkAll, count: View, param: Param): string {
  const w = WATERMARKS[change];
  const m = MARKS[change];
  const idOf = w.direct[1] ? `, ${w.direct[1]}` : '';
  return `WITH ${USER_CTES('$1', '$2')}, before AS (
         SELECT ${viewCount('$1', count, param)} AS count
       ), horizon AS (
         SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
                (SELECT last_value FROM inbox_notification_id_seq) AS last_id
       ), in_flight AS (
         -- Direct rows of transactions running at the horizon that have committed since: the
         -- newest ones (their ids were drawn last), marked one by one.
         UPDATE inbox_notification n SET ${m.column} = ${m.value}
           FROM (${directParts('$2')
             .map(
               (part) => `(SELECT b.id, b.tx_id FROM inbox_notification b
                            WHERE ${part.guard} AND b.user_id = $1 AND b.scope = ${part.expr}
                            ORDER BY b.id DESC LIMIT ${IN_FLIGHT_LOOKBACK})`,
             )
             .join(' UNION ALL ')}) b, horizon h
          WHERE n.id = b.id AND b.tx_id >= h.xmin AND ${w.unmarked}
       ), unarchived AS (
         ${
           change === 'archived'
             ? `UPDATE inbox_notification n SET archived = NULL FROM horizon h, state s
               WHERE n.user_id = $1 AND n.scope = s.scope AND n.archived = false AND n.tx_id < h.xmin`
             : 'SELECT 1'
         }
       ), unarchived_shared AS (
         ${
           change === 'archived'
             ? `UPDATE inbox_receipt r SET archived = NULL FROM state s WHERE r.user_id = $1 AND r.scope = s.scope AND r.archived = false`
             : 'SELECT 1'
         }
       ), broadcasts AS (
         INSERT INTO inbox_user_state AS us (user_id, scope, ${w.direct[0]}${idOf}, ${w.broadcast}${w.at ? `, ${w.at}` : ''})
         SELECT $1, s.scope, h.xmin${w.direct[1] ? ', h.last_id' : ''},
                COALESCE((SELECT seq FROM inbox_stream WHERE stream = '' AND scope = s.scope), 0)${w.at ? ', now()' : ''}
           FROM horizon h CROSS JOIN state s
         ON CONFLICT (user_id, scope) DO UPDATE
           SET ${[...w.direct, w.broadcast].map((c) => `${c} = GREATEST(us.${c}, EXCLUDED.${c})`).join(', ')}
               ${w.at ? `, ${w.at} = EXCLUDED.${w.at}` : ''}
       ), topics AS (
         UPDATE inbox_subscription s SET ${w.topic} = GREATEST(s.${w.topic}, t.seq)
           FROM inbox_stream t, state p WHERE s.user_id = $1 AND s.scope = p.scope AND t.stream = s.topic AND t.scope = s.scope
       )
       SELECT count FROM before`;
}
