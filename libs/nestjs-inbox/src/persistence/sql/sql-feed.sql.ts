import { COLUMNS } from './row-state.sql';

/** Rows of the SQL functions one read of SqlProducerListener delivers at most. */
export const SQL_BATCH = 1000;

/** One branch of SQL_COMMITTED_SINCE: the via_sql rows of some transactions, in the index's order. */
const branch = (transactions: string) =>
  `(SELECT ${COLUMNS}, n.read_at, n.channels AS channel_choices FROM inbox_notification n
     WHERE n.via_sql AND ${transactions} AND n.id NOT IN (SELECT unnest($3::bigint[]))
     ORDER BY n.tx_id, n.id LIMIT ${SQL_BATCH})`;

/**
 * The rows the SQL functions stored (`via_sql`) that committed since a snapshot ($1 its xmax,
 * $2 its xip), less the ids $3 already delivered (earlier batches of the same snapshot), at most
 * SQL_BATCH, each batch in id order; and the current snapshot, where the next read starts once a
 * read was not full. Each branch reads one range of inbox_notification_via_sql_idx in (tx_id, id)
 * order: the transactions at or above the xmax, and those running then (all below it). Ordering
 * by id alone let the prepared statement's generic plan walk the primary key from the table's
 * oldest row (444 ms at 3M rows against 0.15 ms; docs/performance.md), since it cannot know how
 * few rows `tx_id >= $1` keeps. The delivered ids are looked up in a hash (`NOT IN` a subquery):
 * with `<> ALL($3)` a generic plan compared each row with every id, so a backlog of many batches
 * cost its square (774 ms for one batch behind 20,000 ids, 8 ms hashed).
 */
export const SQL_COMMITTED_SINCE = `SELECT pg_snapshot_xmax(s.snap)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s.snap)::text) AS xip, n.*
  FROM (SELECT pg_current_snapshot() AS snap) s
  LEFT JOIN LATERAL (
    SELECT * FROM (
      ${branch('n.tx_id >= $1::bigint')}
      UNION ALL
      ${branch('n.tx_id = ANY($2::bigint[]) AND n.tx_id < $1::bigint')}
    ) n ORDER BY n.id LIMIT ${SQL_BATCH}) n ON true`;
