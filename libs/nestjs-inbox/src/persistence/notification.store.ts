import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { queryPool } from '../compat/typeorm.compat';
import { INBOX_DATA_SOURCE } from '../notifications.internal-constants';
import { NewNotificationRow, NotificationRow } from './notification-row';

const COLUMNS = 'n.id, n.user_id, n.topic, n.type, n.title, n.body, n.data, n.created_at';
const LIVE = '(n.expires_at IS NULL OR n.expires_at > now())';
/**
 * Shared rows: broadcasts, and a topic's publications from the user's subscription on (started
 * after it, or still uncommitted when it was made: see the migration).
 */
const SHARED_VISIBLE = `n.user_id IS NULL
  AND (n.topic IS NULL OR s.created_at <= n.created_at OR n.tx_id >= s.tx_horizon)`;
const SHARED_JOIN = (user: string) => `
  LEFT JOIN inbox_subscription s ON s.user_id = ${user} AND s.topic = n.topic
  LEFT JOIN inbox_receipt r ON r.user_id = ${user} AND r.notification_id = n.id`;

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

/** `cond` receives the read-state column of its branch (direct rows and shared rows differ). */
type Condition = (readAt: string) => string;

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

  /** Newest first, `limit` at most, among what `userId` may see and `cond` accepts. */
  private visible(userId: string, cond: Condition, limit: number, params: unknown[] = []) {
    const order = 'ORDER BY n.id DESC LIMIT $2';
    return this.manager.query(
      `SELECT * FROM (
         (SELECT ${COLUMNS}, n.read_at FROM inbox_notification n
           WHERE n.user_id = $1 AND ${LIVE} AND ${cond('n.read_at')} ${order})
         UNION ALL
         (SELECT ${COLUMNS}, r.read_at FROM inbox_notification n ${SHARED_JOIN('$1')}
           WHERE ${SHARED_VISIBLE} AND ${LIVE} AND ${cond('r.read_at')} ${order})
       ) v ORDER BY id DESC LIMIT $2`,
      [userId, limit, ...params],
    ) as Promise<NotificationRow[]>;
  }

  list(
    userId: string,
    q: { before?: string; limit: number; unreadOnly?: boolean; type?: string },
  ): Promise<NotificationRow[]> {
    const params: unknown[] = [];
    const param = (v: unknown) => `$${params.push(v) + 2}`;
    const before = q.before === undefined ? null : param(q.before);
    const type = q.type === undefined ? null : param(q.type);
    return this.visible(
      userId,
      (readAt) =>
        [
          before ? `n.id < ${before}::bigint` : 'true',
          type ? `n.type = ${type}` : 'true',
          q.unreadOnly ? `${readAt} IS NULL` : 'true',
        ].join(' AND '),
      q.limit,
      params,
    );
  }

  /**
   * What a client holding `cursor` may lack, newest first: everything newer, plus two kinds of
   * older rows. Those whose transactions were still open when the cursor's row was written
   * (they can commit after it), and those that began within `graceMs` before it (committed
   * just before it, their live emit may have been lost with an instance that died), less those
   * the client says it holds (`held`); it drops any other one it has by id. Without a cursor:
   * the unread ones.
   */
  catchUp(userId: string, cursor: string | null, limit: number, graceMs: number, held: string[] = []): Promise<NotificationRow[]> {
    if (cursor === null) return this.visible(userId, (readAt) => `${readAt} IS NULL`, limit);
    // One round trip: the anchor's columns are scalar subqueries, NULL (so only `id >`) if it is gone.
    const anchor = (column: string) => `(SELECT a.${column} FROM inbox_notification a WHERE a.id = $3::bigint)`;
    return this.visible(
      userId,
      () => `(n.id > $3::bigint OR (n.id < $3::bigint AND n.id <> ALL($5::bigint[]) AND (
                n.tx_id >= ${anchor('tx_horizon')}
                OR n.created_at >= ${anchor('created_at')} - $4::int * interval '1 millisecond')))`,
      limit,
      [cursor, graceMs, held],
    );
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

  /** What `userId` may see among rows committed since `horizon()` returned `horizon`, newest first. */
  committedSince(userId: string, horizon: string, limit: number): Promise<NotificationRow[]> {
    return this.visible(userId, () => `n.tx_id >= $3::bigint`, limit, [horizon]);
  }

  /** Marks what `userId` may see among `ids` as read; returns the ids that were unread. */
  async markRead(userId: string, ids: string[]): Promise<string[]> {
    const rows: { id: string }[] = await this.manager.query(
      `WITH direct AS (
         UPDATE inbox_notification SET read_at = now()
          WHERE id = ANY($2::bigint[]) AND user_id = $1 AND read_at IS NULL
         RETURNING id
       ), shared AS (
         INSERT INTO inbox_receipt (user_id, notification_id)
         SELECT $1, n.id FROM inbox_notification n ${SHARED_JOIN('$1')}
          WHERE n.id = ANY($2::bigint[]) AND ${SHARED_VISIBLE} AND r.user_id IS NULL
         ON CONFLICT DO NOTHING
         RETURNING notification_id AS id
       )
       SELECT id FROM direct UNION ALL SELECT id FROM shared`,
      [userId, ids],
    );
    return rows.map((r) => r.id);
  }

  /** Marks everything `userId` may see as read; returns how many were unread. */
  async markAllRead(userId: string): Promise<number> {
    const [{ count }] = await this.manager.query(
      `WITH direct AS (
         UPDATE inbox_notification SET read_at = now() WHERE user_id = $1 AND read_at IS NULL RETURNING id
       ), shared AS (
         INSERT INTO inbox_receipt (user_id, notification_id)
         SELECT $1, n.id FROM inbox_notification n ${SHARED_JOIN('$1')}
          WHERE ${SHARED_VISIBLE} AND r.user_id IS NULL
         ON CONFLICT DO NOTHING
         RETURNING notification_id
       )
       SELECT (SELECT count(*) FROM direct) + (SELECT count(*) FROM shared) AS count`,
      [userId],
    );
    return Number(count);
  }

  /** Unread counts of several users in one query. */
  async unreadCounts(userIds: string[]): Promise<Map<string, number>> {
    const rows: { user_id: string; unread: number }[] = await this.manager.query(
      `SELECT u.user_id,
              (SELECT count(*) FROM inbox_notification n
                WHERE n.user_id = u.user_id AND n.read_at IS NULL AND ${LIVE})::int
            + (SELECT count(*) FROM inbox_notification n ${SHARED_JOIN('u.user_id')}
                WHERE ${SHARED_VISIBLE} AND ${LIVE} AND r.user_id IS NULL)::int AS unread
         FROM unnest($1::varchar[]) AS u(user_id)`,
      [userIds],
    );
    return new Map(rows.map((r) => [r.user_id, r.unread]));
  }

  async subscribe(userId: string, topic: string): Promise<void> {
    await this.manager.query(
      `INSERT INTO inbox_subscription (user_id, topic) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
      [userId, topic],
    );
  }

  /** What `userId` may see in `topic` among rows committed since `horizon()` returned `horizon`. */
  topicCommittedSince(userId: string, topic: string, horizon: string): Promise<NotificationRow[]> {
    return this.manager.query(
      `SELECT ${COLUMNS}, r.read_at FROM inbox_notification n ${SHARED_JOIN('$1')}
        WHERE n.topic = $2 AND n.tx_id >= $3::bigint AND ${SHARED_VISIBLE} AND ${LIVE} ORDER BY n.id`,
      [userId, topic, horizon],
    );
  }

  async unsubscribe(userId: string, topic: string): Promise<void> {
    await this.manager.query(`DELETE FROM inbox_subscription WHERE user_id = $1 AND topic = $2`, [userId, topic]);
  }

  async topicsOf(userId: string): Promise<string[]> {
    const rows: { topic: string }[] = await this.manager.query(
      `SELECT topic FROM inbox_subscription WHERE user_id = $1`,
      [userId],
    );
    return rows.map((r) => r.topic);
  }
}
