import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { queryPool } from '../compat/typeorm.compat';
import { INBOX_DATA_SOURCE } from '../notifications.internal-constants';
import { NewNotificationRow, NotificationRow } from './notification-row';

const COLUMNS = 'n.id, n.user_id, n.topic, n.type, n.title, n.body, n.data, n.created_at';
const LIVE = '(n.expires_at IS NULL OR n.expires_at > now())';

/**
 * The streams `user` (an SQL expression) reads from, with the watermarks of its state
 * (docs/scaling.md): the broadcast stream (`stream` ''), then each subscribed topic. `after`:
 * the stream's rows this user may see have a greater seq; `read`: up to this seq they are read.
 */
const STREAMS = (user: string) => `
  streams AS (
    SELECT ''::varchar AS stream, 0::bigint AS after,
           COALESCE((SELECT us.broadcast_read_seq FROM inbox_user_state us WHERE us.user_id = ${user}), 0) AS read
    UNION ALL
    SELECT s.topic, s.from_seq, GREATEST(s.read_seq, s.from_seq) FROM inbox_subscription s WHERE s.user_id = ${user}
  ), state AS (
    SELECT COALESCE(max(us.direct_read_xmin), 0) AS direct_read_xmin, max(us.read_all_at) AS read_all_at
      FROM inbox_user_state us WHERE us.user_id = ${user}
  )`;

/** The transactions a snapshot did not see: those at or above `xmax`, and those in `xip` (running then). */
export interface SqlSnapshot {
  xmax: string;
  xip: string[];
}

/** Whose rows a read query reads and how many at most, as SQL expressions (`$1`, or a column of a batch). */
interface Reader {
  user: string;
  limit: string;
}
/** One user's query: `$1` the user, `$2` the limit, the query's own parameters after. */
const ONE: Reader = { user: '$1', limit: '$2' };

/** A catch-up's anchor, as SQL expressions: the client's cursor, the grace in ms, the ids it holds below the cursor. */
interface CatchUpFrom {
  cursor: string;
  grace: string;
  held: string;
}

/** A read-state condition: `direct` for the user's own rows, `shared` for a stream's. */
interface Condition {
  direct: string;
  shared: string;
  /** The stream position the condition's shared rows lie above (default: what the user may see, `st.after`). */
  low?: string;
}
const ANY: Condition = { direct: 'true', shared: 'true' };
const and = (...cs: Condition[]): Condition => ({
  direct: cs.map((c) => c.direct).join(' AND '),
  shared: cs.map((c) => c.shared).join(' AND '),
  low: cs.map((c) => c.low).find((low) => low !== undefined),
});
/** Unread: a direct row not marked and above the user's transaction watermark; a shared row above the stream's read watermark, without a receipt. */
const UNREAD: Condition = {
  direct: 'n.read_at IS NULL AND n.tx_id >= (SELECT direct_read_xmin FROM state)',
  shared: 'r.user_id IS NULL',
  low: 'st.read',
};
/**
 * How far back the catch-up looks for rows older than the cursor that it may have to resend
 * (late commits, the grace window), per stream: read from the index alone.
 */
const CATCH_UP_LOOKBACK = 100;
/** Rows of the SQL functions one read of SqlProducerListener delivers at most. */
const SQL_BATCH = 1000;

const sameBoth = (sql: string): Condition => ({ direct: sql, shared: sql });
/** A direct row's read time: its own, or the user's mark-all if its transaction is below the watermark. */
const DIRECT_READ_AT = `COALESCE(n.read_at, CASE WHEN n.tx_id < (SELECT direct_read_xmin FROM state) THEN (SELECT read_all_at FROM state) END)`;
/** A shared row's read time for the user (receipt `r`, stream `st`): its receipt, or the mark-all if under the watermark. */
const SHARED_READ_AT = `COALESCE(r.read_at, CASE WHEN n.seq <= st.read THEN (SELECT read_all_at FROM state) END)`;

/**
 * The exact unread count of `user` (an SQL expression), from index ranges and the watermarks:
 * its unread direct rows above its transaction watermark; per stream, the committed rows above
 * the watermark (a subtraction of positions), less the ones it read out of order (receipts) and
 * the expired ones it had not read. Costs O(unread direct since the last mark-all +
 * subscriptions + receipts and expired rows above the watermarks), never the stream's length.
 */
const UNREAD_COUNT = (user: string) => `(
  (SELECT count(*) FROM inbox_notification n
    WHERE n.user_id = ${user} AND n.read_at IS NULL AND ${LIVE}
      AND n.tx_id >= COALESCE((SELECT us.direct_read_xmin FROM inbox_user_state us WHERE us.user_id = ${user}), 0))
  + COALESCE((
    SELECT sum(GREATEST(t.seq - m.low, 0)
             - (SELECT count(*) FROM inbox_receipt r WHERE r.user_id = ${user} AND r.stream = w.stream AND r.seq > m.low)
             - (SELECT count(*) FROM inbox_notification n
                 WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = w.stream AND n.seq > m.low
                   AND n.expires_at <= now()
                   AND NOT EXISTS (SELECT 1 FROM inbox_receipt r WHERE r.user_id = ${user} AND r.notification_id = n.id)))
      FROM (SELECT '' AS stream, COALESCE((SELECT us.broadcast_read_seq FROM inbox_user_state us WHERE us.user_id = ${user}), 0) AS low
            UNION ALL
            SELECT s.topic, GREATEST(s.read_seq, s.from_seq) FROM inbox_subscription s WHERE s.user_id = ${user}) w
      JOIN inbox_stream t ON t.stream = w.stream
      -- Retention deletes a stream's oldest positions only: below the first one left, nothing is unread.
      CROSS JOIN LATERAL (
        SELECT GREATEST(w.low, COALESCE((SELECT min(n.seq) FROM inbox_notification n
                                          WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = w.stream), t.seq + 1) - 1) AS low
      ) m), 0))::int`;

/**
 * Ids are drawn before the insert so the result maps back to input rows by id; the statement's
 * snapshot is taken before any of them, which is what tx_horizon needs. Only what the database
 * decides (id, created_at) comes back: the rest is the caller's input.
 */
const INSERT_SQL = `
  WITH input AS MATERIALIZED (
    SELECT nextval('inbox_notification_id_seq'::regclass) AS id, t.*
      FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::text[], $5::text[], $6::jsonb[],
                  $7::varchar[], $8::timestamptz[]) WITH ORDINALITY
           AS t(user_id, topic, type, title, body, data, dedupe_key, expires_at, ord)
  ), tx AS (
    -- Once per statement, not per row (each pg_current_snapshot() copies the snapshot).
    SELECT pg_current_xact_id()::text::bigint AS tx_id,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
  ), ins AS (
    INSERT INTO inbox_notification AS n
           (id, user_id, topic, type, title, body, data, dedupe_key, expires_at, tx_id, tx_horizon)
    SELECT id, user_id, topic, type, title, body, data, dedupe_key, expires_at, tx.tx_id, tx.tx_horizon
      FROM input CROSS JOIN tx ORDER BY ord
    ON CONFLICT ((COALESCE(user_id, '')), (COALESCE(topic, '')), dedupe_key) WHERE dedupe_key IS NOT NULL
    DO NOTHING
    RETURNING n.id, n.created_at
  )
  SELECT input.ord, ins.id, ins.created_at FROM ins JOIN input USING (id)`;

/**
 * All SQL of the library. It runs on the host's DataSource (or the caller's EntityManager,
 * to join its transaction); every query that takes a user id only ever touches that user's
 * rows and the shared rows visible to them.
 */
@Injectable()
export class NotificationStore {
  constructor(@Inject(INBOX_DATA_SOURCE) private readonly dataSource: DataSource) {}

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /**
   * Stores rows in one statement. Returns, for each input row, the stored row, or `null`
   * where a row with the same audience and dedupe key already existed.
   */
  async insert(rows: NewNotificationRow[], manager?: EntityManager): Promise<(NotificationRow | null)[]> {
    const values = [
      rows.map((r) => r.userId),
      rows.map((r) => r.topic),
      rows.map((r) => r.type),
      rows.map((r) => r.title),
      rows.map((r) => r.body),
      rows.map((r) => (r.data === null ? null : JSON.stringify(r.data))),
      rows.map((r) => r.dedupeKey),
      rows.map((r) => r.expiresAt),
    ];
    // Outside a caller's transaction the statement goes straight to the DataSource's pool as a
    // named prepared statement (see queryPool).
    const result: { ord: string; id: string; created_at: Date }[] = manager
      ? await manager.query(INSERT_SQL, values)
      : await queryPool(this.dataSource, { name: 'nestjs-inbox:insert', text: INSERT_SQL, values });
    const stored: (NotificationRow | null)[] = rows.map(() => null);
    for (const { ord, id, created_at } of result) {
      const r = rows[Number(ord) - 1];
      stored[Number(ord) - 1] = {
        id,
        user_id: r.userId,
        topic: r.topic,
        type: r.type,
        title: r.title,
        body: r.body,
        data: r.data as NotificationRow['data'],
        created_at,
        read_at: null,
      };
    }
    return stored;
  }

  /**
   * Newest first, `limit` at most, among what the reader's user may see and one of `conds`
   * accepts: for each condition, one index range over the user's direct rows and one per stream
   * (broadcasts, each subscribed topic), each cut at `limit`, merged. `ctes` may add WITH
   * clauses, `extra` whole branches (rows found by id, see catchUpSql).
   */
  private static visibleSql(r: Reader, conds: Condition[], ctes = '', extra: string[] = []): string {
    const page = `ORDER BY n.id DESC LIMIT ${r.limit}`;
    const branches = conds.flatMap((cond) => {
      const low = cond.low ?? 'st.after';
      const stream = (where: string) => `
          SELECT ${COLUMNS}, ${SHARED_READ_AT} AS read_at
            FROM inbox_notification n
            LEFT JOIN inbox_receipt r ON r.user_id = ${r.user} AND r.notification_id = n.id
           WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = st.stream AND ${where}
             AND ${LIVE} AND ${cond.shared} ${page}`;
      return [
        `(SELECT ${COLUMNS}, ${DIRECT_READ_AT} AS read_at FROM inbox_notification n
           WHERE n.user_id = ${r.user} AND ${LIVE} AND ${cond.direct} ${page})`,
        // A stream's page walks its id index newest first, down to the row at the watermark
        // `low` (a row in order above it has a greater id; `n.seq + 0` keeps the position test
        // a filter, so the planner walks the id index), plus the few `late` rows above `low`.
        `(SELECT x.* FROM streams st CROSS JOIN LATERAL (
           (${stream(`NOT n.late AND n.seq + 0 > ${low} AND n.id > COALESCE((
              SELECT w.id FROM inbox_notification w
               WHERE w.user_id IS NULL AND COALESCE(w.topic, '') = st.stream AND w.seq = ${low}), 0)`)})
           UNION ALL
           (${stream(`n.late AND n.seq > ${low}`)})) x)`,
      ];
    });
    return `WITH ${STREAMS(r.user)}${ctes}
      SELECT * FROM (${[...branches, ...extra].join(' UNION ALL ')}) v ORDER BY id DESC LIMIT ${r.limit}`;
  }

  list(
    userId: string,
    q: { before?: string; limit: number; unreadOnly?: boolean; type?: string },
  ): Promise<NotificationRow[]> {
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v) + 2}`;
    const conds: Condition[] = [];
    if (q.before !== undefined) conds.push(sameBoth(`n.id < ${param(q.before)}::bigint`));
    if (q.type !== undefined) conds.push(sameBoth(`n.type = ${param(q.type)}`));
    if (q.unreadOnly) conds.push(UNREAD);
    const sql = NotificationStore.visibleSql(ONE, [conds.length ? and(...conds) : ANY]);
    return this.manager.query(sql, [userId, q.limit, ...params]);
  }

  /**
   * Rows among the newest `lookback` of each stream (below `below`, if given) that
   * `accept` (over the columns tx_id, created_at of `b`), chosen from the indexes alone and then
   * read by id, as two branches for visibleSql (`extra`) and the CTEs they need (`ctes`).
   */
  private static recent(r: Reader, lookback: string, below: string | null, accept: string): { ctes: string; extra: string[] } {
    const bound = below ? `AND n.id < ${below}` : '';
    const ctes = `,
      recent_direct AS (
        SELECT b.id FROM (SELECT n.id, n.tx_id, n.created_at FROM inbox_notification n
                           WHERE n.user_id = ${r.user} ${bound} ORDER BY n.id DESC LIMIT ${lookback}) b
         WHERE ${accept}
      ), recent_shared AS (
        SELECT b.id, st.stream, st.after, st.read FROM streams st CROSS JOIN LATERAL (
          SELECT n.id, n.tx_id, n.created_at FROM inbox_notification n
           WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = st.stream ${bound}
           ORDER BY n.id DESC LIMIT ${lookback}) b
         WHERE ${accept}
      )`;
    const extra = [
      `(SELECT ${COLUMNS}, ${DIRECT_READ_AT} AS read_at
          FROM recent_direct b JOIN inbox_notification n ON n.id = b.id WHERE ${LIVE})`,
      `(SELECT ${COLUMNS}, ${SHARED_READ_AT} AS read_at
          FROM recent_shared st JOIN inbox_notification n ON n.id = st.id
          LEFT JOIN inbox_receipt r ON r.user_id = ${r.user} AND r.notification_id = n.id
         WHERE n.seq > st.after AND ${LIVE})`,
    ];
    return { ctes, extra };
  }

  /**
   * What a client holding `cursor` may lack, newest first: everything newer, plus two kinds of
   * older rows. Those whose transactions were still open when the cursor's row was written
   * (they can commit after it), and those that began within `grace` ms before it (committed
   * just before it, their live emit may have been lost with an instance that died), less those
   * the client says it holds (`held`); it drops any other one it has by id. The older ones are
   * looked for among the CATCH_UP_LOOKBACK rows of each stream below the cursor.
   */
  private static catchUpSql(r: Reader, from: CatchUpFrom): string {
    // The anchor's columns come from a CTE: no row (so only `id >`) if the row is gone.
    const anchor = `,
      anchor AS (SELECT a.tx_horizon, a.created_at - ${from.grace}::int * interval '1 millisecond' AS since
                   FROM inbox_notification a WHERE a.id = ${from.cursor}::bigint)`;
    const late = NotificationStore.recent(
      r,
      String(CATCH_UP_LOOKBACK),
      `${from.cursor}::bigint`,
      `b.id <> ALL(${from.held}) AND EXISTS (SELECT 1 FROM anchor WHERE b.tx_id >= anchor.tx_horizon OR b.created_at >= anchor.since)`,
    );
    return NotificationStore.visibleSql(r, [sameBoth(`n.id > ${from.cursor}::bigint`)], anchor + late.ctes, late.extra);
  }

  /**
   * The reads of many connecting sockets in one statement (a reconnect storm costs a few
   * statements, not one per socket): for each, its catch-up (as `catchUp`, `limit` rows at most)
   * and its unread count. All of one kind: with a cursor each, or none.
   */
  async catchUps(
    sockets: { userId: string; cursor: string | null; held: string[] }[],
    limit: number,
    graceMs: number,
  ): Promise<{ rows: NotificationRow[]; unread: number }[]> {
    const batch: Reader = { user: 'u.user_id', limit: '$4' };
    const withCursor = sockets[0].cursor !== null;
    const reads = withCursor
      ? NotificationStore.catchUpSql(batch, { cursor: 'u.cursor', grace: '$5', held: "string_to_array(u.held, ',')::bigint[]" })
      : NotificationStore.visibleSql(batch, [ANY]);
    const result: (NotificationRow & { ord: string; unread: number })[] = await this.manager.query(
      // OFFSET 0 keeps the count a column of each socket's row, computed once: flattened, the
      // planner evaluated it once per notification read (1,000 counts for a 1,000-row catch-up).
      `SELECT u.ord, u.unread, x.*
         FROM (SELECT u.*, ${UNREAD_COUNT('u.user_id')} AS unread
                 FROM unnest($1::varchar[], $2::bigint[], $3::text[]) WITH ORDINALITY AS u(user_id, cursor, held, ord)
               OFFSET 0) u
         LEFT JOIN LATERAL (${reads}) x ON true`,
      [
        sockets.map((s) => s.userId),
        sockets.map((s) => s.cursor),
        sockets.map((s) => s.held.join(',')),
        limit,
        ...(withCursor ? [graceMs] : []),
      ],
    );
    const out = sockets.map(() => ({ rows: [] as NotificationRow[], unread: 0 }));
    for (const { ord, unread, ...row } of result) {
      const socket = out[Number(ord) - 1];
      socket.unread = Number(unread);
      if (row.id !== null) socket.rows.push(row);
    }
    return out;
  }

  /** The topics of several users in one query. */
  async topicsOfMany(userIds: string[]): Promise<Map<string, string[]>> {
    const rows: { user_id: string; topic: string }[] = await this.manager.query(
      `SELECT user_id, topic FROM inbox_subscription WHERE user_id = ANY($1::varchar[])`,
      [userIds],
    );
    const topics = new Map(userIds.map((u) => [u, [] as string[]]));
    for (const r of rows) topics.get(r.user_id)!.push(r.topic);
    return topics;
  }

  /**
   * The oldest transaction still running: every row committed from now on has a `tx_id` at
   * least this (a transaction running now has an id at least this, a later one a larger one).
   */
  async horizon(): Promise<string> {
    const [{ horizon }] = await this.manager.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`);
    return horizon;
  }

  /** Which of these ids are stored (committed, as seen from outside any transaction). */
  async existing(ids: string[]): Promise<Set<string>> {
    const rows: { id: string }[] = await this.manager.query(
      `SELECT id::text FROM inbox_notification WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** What `userId` may see among rows committed since `horizon()` returned `horizon`, newest first (among the newest `limit` of each stream). */
  committedSince(userId: string, horizon: string, limit: number): Promise<NotificationRow[]> {
    const since = NotificationStore.recent(ONE, ONE.limit, null, 'b.tx_id >= $3::bigint');
    return this.manager.query(NotificationStore.visibleSql(ONE, [], since.ctes, since.extra), [userId, limit, horizon]);
  }

  /**
   * Where a reader of the SQL functions' rows starts: the transactions the current snapshot does
   * not see (still running, or not begun), whose rows the next `sqlCommittedSince` looks at.
   */
  async sqlSnapshot(): Promise<SqlSnapshot> {
    const [row] = await this.manager.query(
      `SELECT pg_snapshot_xmax(s.snap)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s.snap)::text) AS xip
         FROM (SELECT pg_current_snapshot() AS snap) s`,
    );
    return { xmax: row.xmax, xip: row.xip };
  }

  /**
   * Rows stored by the SQL functions (`via_sql`) that committed since `since` was taken: those
   * of transactions it did not see (at or above its xmax, or running then) that are visible now,
   * less `exclude`, oldest first, at most SQL_BATCH; and this read's own snapshot, where the next
   * read starts once this one was `complete`. It reads the new rows only, whatever the age of
   * the oldest transaction still running on the server.
   */
  async sqlCommittedSince(
    since: SqlSnapshot,
    exclude: string[],
  ): Promise<{ rows: NotificationRow[]; next: SqlSnapshot; complete: boolean }> {
    const result: (NotificationRow & { xmax: string; xip: string[] })[] = await this.manager.query(
      `SELECT pg_snapshot_xmax(s.snap)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s.snap)::text) AS xip, n.*
         FROM (SELECT pg_current_snapshot() AS snap) s
         LEFT JOIN LATERAL (
           SELECT ${COLUMNS}, n.read_at FROM inbox_notification n
            WHERE n.via_sql AND (n.tx_id >= $1::bigint OR n.tx_id = ANY($2::bigint[])) AND n.id <> ALL($3::bigint[])
            ORDER BY n.id LIMIT ${SQL_BATCH}) n ON true`,
      [since.xmax, since.xip, exclude],
    );
    const rows = result.filter((r) => r.id !== null).map(({ xmax: _xmax, xip: _xip, ...row }) => row);
    return { rows, next: { xmax: result[0].xmax, xip: result[0].xip }, complete: rows.length < SQL_BATCH };
  }

  /** Marks what `userId` may see among `ids` as read; returns the ids that were unread. */
  async markRead(userId: string, ids: string[]): Promise<string[]> {
    const rows: { id: string }[] = await this.manager.query(
      `WITH ${STREAMS('$1')}, direct AS (
         UPDATE inbox_notification n SET read_at = now()
          WHERE n.id = ANY($2::bigint[]) AND n.user_id = $1 AND ${UNREAD.direct}
         RETURNING n.id
       ), shared AS (
         INSERT INTO inbox_receipt (user_id, notification_id, stream, seq)
         SELECT $1, n.id, st.stream, n.seq
           FROM inbox_notification n
           JOIN streams st ON st.stream = COALESCE(n.topic, '') AND n.seq > st.after
           LEFT JOIN inbox_receipt r ON r.user_id = $1 AND r.notification_id = n.id
          WHERE n.id = ANY($2::bigint[]) AND n.user_id IS NULL AND n.seq > st.read AND ${UNREAD.shared}
         ON CONFLICT DO NOTHING
         RETURNING notification_id AS id
       )
       SELECT id FROM direct UNION ALL SELECT id FROM shared`,
      [userId, ids],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Marks everything `userId` may see as read, in O(subscriptions): the watermarks move to the
   * end of each stream, and the direct one to the oldest transaction still running (every older
   * one has ended, so its rows are exactly what the user could see). The few direct rows of
   * younger transactions that are already committed are marked one by one. Returns how many
   * were unread.
   */
  async markAllRead(userId: string): Promise<number> {
    const [{ count }] = await this.manager.query(
      `WITH ${STREAMS('$1')}, before AS (
         SELECT ${UNREAD_COUNT('$1')} AS count
       ), horizon AS (
         SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin
       ), direct AS (
         UPDATE inbox_notification n SET read_at = now()
          WHERE n.user_id = $1 AND n.read_at IS NULL AND n.tx_id >= (SELECT xmin FROM horizon)
       ), broadcasts AS (
         INSERT INTO inbox_user_state AS us (user_id, read_all_at, direct_read_xmin, broadcast_read_seq)
         SELECT $1, now(), horizon.xmin, COALESCE((SELECT seq FROM inbox_stream WHERE stream = ''), 0) FROM horizon
         ON CONFLICT (user_id) DO UPDATE
           SET read_all_at = EXCLUDED.read_all_at,
               direct_read_xmin = GREATEST(us.direct_read_xmin, EXCLUDED.direct_read_xmin),
               broadcast_read_seq = GREATEST(us.broadcast_read_seq, EXCLUDED.broadcast_read_seq)
       ), topics AS (
         UPDATE inbox_subscription s SET read_seq = GREATEST(s.read_seq, t.seq)
           FROM inbox_stream t WHERE s.user_id = $1 AND t.stream = s.topic
       )
       SELECT count FROM before`,
      [userId],
    );
    return Number(count);
  }

  /** Unread counts of several users in one query, each in O(subscriptions + out-of-order reads). */
  async unreadCounts(userIds: string[]): Promise<Map<string, number>> {
    const rows: { user_id: string; unread: number }[] = await this.manager.query(
      `SELECT u.user_id, ${UNREAD_COUNT('u.user_id')} AS unread FROM unnest($1::varchar[]) AS u(user_id)`,
      [userIds],
    );
    return new Map(rows.map((r) => [r.user_id, Number(r.unread)]));
  }

  /** Subscribes from the stream's current end on (rows still in flight included: they commit after it). */
  async subscribe(userId: string, topic: string): Promise<void> {
    await this.manager.query(
      `INSERT INTO inbox_subscription (user_id, topic, from_seq, read_seq)
       SELECT $1, $2, s.seq, s.seq FROM (SELECT COALESCE((SELECT seq FROM inbox_stream WHERE stream = $2), 0) AS seq) s
       ON CONFLICT DO NOTHING`,
      [userId, topic],
    );
  }

  /** What `userId` may see in `topic` among rows committed since `horizon()` returned `horizon`. */
  topicCommittedSince(userId: string, topic: string, horizon: string): Promise<NotificationRow[]> {
    return this.manager.query(
      `SELECT ${COLUMNS}, r.read_at FROM inbox_subscription s
         JOIN inbox_notification n ON n.user_id IS NULL AND COALESCE(n.topic, '') = s.topic AND n.seq > s.from_seq
         LEFT JOIN inbox_receipt r ON r.user_id = $1 AND r.notification_id = n.id
        WHERE s.user_id = $1 AND s.topic = $2 AND n.tx_id >= $3::bigint AND ${LIVE} ORDER BY n.id`,
      [userId, topic, horizon],
    );
  }

  async unsubscribe(userId: string, topic: string): Promise<void> {
    await this.manager.query(`DELETE FROM inbox_subscription WHERE user_id = $1 AND topic = $2`, [userId, topic]);
  }

  /**
   * One batch of the retention job (see Retention), inside its transaction: among the oldest
   * `batchSize` rows, the direct ones older than `days`; per stream they touch, its oldest
   * positions older than `days` up to the first younger one; up to `batchSize` expired direct
   * rows; expired shared rows lose their content (their position stays). Returns the rows
   * deleted or emptied.
   */
  async pruneBatch(tx: EntityManager, days: number | null, batchSize: number): Promise<number> {
    const [{ n }] = await tx.query(
      `WITH cutoff AS (SELECT now() - $1::int * interval '1 day' AS at WHERE $1::int IS NOT NULL),
       oldest AS (
         SELECT id, user_id, topic, created_at FROM inbox_notification ORDER BY id LIMIT $2
       ), old_direct AS (
         DELETE FROM inbox_notification n USING oldest o, cutoff
          WHERE n.id = o.id AND o.user_id IS NOT NULL AND o.created_at < cutoff.at
         RETURNING n.id
       ), positions AS (
         SELECT x.* FROM (SELECT DISTINCT COALESCE(topic, '') AS stream FROM oldest, cutoff
                           WHERE user_id IS NULL AND created_at < cutoff.at) s
         CROSS JOIN LATERAL (
           SELECT s.stream, n.id, n.seq, n.created_at FROM inbox_notification n
            WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = s.stream AND n.seq IS NOT NULL
            ORDER BY n.seq LIMIT $2) x
       ), kept AS (
         SELECT p.stream, min(p.seq) FILTER (WHERE p.created_at >= cutoff.at) AS first
           FROM positions p, cutoff GROUP BY p.stream
       ), old_shared AS (
         DELETE FROM inbox_notification n USING positions p JOIN kept k USING (stream)
          WHERE n.id = p.id AND (k.first IS NULL OR p.seq < k.first)
         RETURNING n.id
       ), expired_direct AS (
         DELETE FROM inbox_notification n
          WHERE n.id IN (SELECT id FROM inbox_notification
                          WHERE expires_at <= now() AND user_id IS NOT NULL ORDER BY expires_at LIMIT $2)
         RETURNING n.id
       ), expired_shared AS (
         UPDATE inbox_notification n SET title = NULL, body = NULL, data = NULL
          WHERE n.expires_at <= now() AND n.user_id IS NULL
            AND (n.title IS NOT NULL OR n.body IS NOT NULL OR n.data IS NOT NULL)
         RETURNING n.id
       )
       SELECT (SELECT count(*) FROM old_direct) + (SELECT count(*) FROM old_shared)
            + (SELECT count(*) FROM expired_direct) + (SELECT count(*) FROM expired_shared) AS n`,
      [days, batchSize],
    );
    return Number(n);
  }
}
