import { Injectable } from '@nestjs/common';
import type { QueryResultRow } from 'pg';
import { EntityManager } from 'typeorm';
import type { Mark, View } from './inbox-model';

export type { Mark } from './inbox-model';
import { catchUpsSql, committedSinceSql } from './sql/catch-up.sql';
import { badgeColumns, viewCount } from './sql/counts.sql';
import { MarkAll, markAllSql, markSql } from './sql/marks.sql';
import { builtOnce, noValues, params } from './sql/params';
import { COLUMNS, LIVE, SHARED_STATE, USER_CTES } from './sql/row-state.sql';
import { pageSql } from './sql/views.sql';
import { StatementRunner } from './statement-runner';
import { NewNotificationRow, NotificationRow } from './notification-row';

/** The transactions a snapshot did not see: those at or above `xmax`, and those in `xip` (running then). */
export interface SqlSnapshot {
  xmax: string;
  xip: string[];
}

/** What a user has muted. */
export interface Muted {
  types: string[];
  topics: string[];
}

/** A user's badge: unread in the inbox, and unseen (what the bell shows). */
export interface Badge {
  unread: number;
  unseen: number;
}

/** Rows of the SQL functions one read of SqlProducerListener delivers at most. */
const SQL_BATCH = 1000;

/**
 * The rows come as one JSON array of arrays (each in the order `input` reads them by index):
 * one string that JSON.stringify builds natively, where twelve parameter arrays cost a `map`
 * each and pg's element-by-element escaping (docs/performance.md). Ids are drawn before the
 * insert so the result maps back to input rows by id; the statement's snapshot is taken before
 * any of them, which is what tx_horizon needs. Only what the database decides (id, created_at, in epoch
 * milliseconds: no date string to parse) comes back: the rest is the caller's input.
 */
const INSERT_SQL = `
  WITH input AS MATERIALIZED (
    SELECT nextval('inbox_notification_id_seq'::regclass) AS id, e.ord,
           e.r->>0 AS user_id, e.r->>1 AS topic, e.r->>2 AS type, e.r->>3 AS title, e.r->>4 AS body,
           NULLIF(e.r->5, 'null') AS data, e.r->>6 AS dedupe_key, (e.r->>7)::timestamptz AS expires_at,
           e.r->>8 AS url, NULLIF(e.r->9, 'null') AS actions, NULLIF(e.r->10, 'null') AS actor, NULLIF(e.r->11, 'null') AS tags
      FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(r, ord)
  ), tx AS (
    -- Once per statement, not per row (each pg_current_snapshot() copies the snapshot).
    SELECT pg_current_xact_id()::text::bigint AS tx_id,
           pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS tx_horizon
  ), ins AS (
    INSERT INTO inbox_notification AS n
           (id, user_id, topic, type, title, body, data, dedupe_key, expires_at, url, actions, actor, tags,
            tx_id, tx_horizon)
    SELECT id, user_id, topic, type, title, body, data, dedupe_key, expires_at, url, actions, actor,
           CASE WHEN input.tags IS NULL THEN '{}'::text[]
                ELSE ARRAY(SELECT e FROM jsonb_array_elements_text(input.tags) WITH ORDINALITY AS x(e, i) ORDER BY i) END,
           tx.tx_id, tx.tx_horizon
      FROM input CROSS JOIN tx ORDER BY ord
    ON CONFLICT ((COALESCE(user_id, '')), (COALESCE(topic, '')), dedupe_key) WHERE dedupe_key IS NOT NULL
    DO NOTHING
    RETURNING n.id, n.created_at
  )
  SELECT input.ord, ins.id, floor(extract(epoch FROM ins.created_at) * 1000)::float8 AS created_ms
    FROM ins JOIN input USING (id)`;

/** All SQL of the library, being split into repositories (see StatementRunner). */
@Injectable()
export class NotificationStore {
  constructor(private readonly runner: StatementRunner) {}

  get manager(): EntityManager {
    return this.runner.manager;
  }

  private query<R extends QueryResultRow>(text: string, values: unknown[] = [], opts: { tx?: EntityManager; withoutJit?: boolean } = {}): Promise<R[]> {
    return this.runner.query<R>(text, values, opts);
  }

  /**
   * Stores rows in one statement. Returns, for each input row, the stored row, or `null`
   * where a row with the same audience and dedupe key already existed.
   */
  async insert(rows: NewNotificationRow[], manager?: EntityManager): Promise<(NotificationRow | null)[]> {
    // No actions and no tags are stored as NULL and '{}' (what the columns hold for none).
    const values = [
      JSON.stringify(
        rows.map((r) => [
          r.userId,
          r.topic,
          r.type,
          r.title,
          r.body,
          r.data,
          r.dedupeKey,
          r.expiresAt,
          r.url,
          r.actions.length === 0 ? null : r.actions,
          r.actor,
          r.tags.length === 0 ? null : r.tags,
        ]),
      ),
    ];
    const result = await this.runner.query<{ ord: string; id: string; created_ms: number }>(INSERT_SQL, values, {
      tx: manager,
      name: 'nestjs-inbox:insert',
    });
    const stored: (NotificationRow | null)[] = rows.map(() => null);
    for (const { ord, id, created_ms } of result) {
      const r = rows[Number(ord) - 1];
      stored[Number(ord) - 1] = {
        id,
        user_id: r.userId,
        topic: r.topic,
        type: r.type,
        title: r.title,
        body: r.body,
        data: r.data as NotificationRow['data'],
        url: r.url,
        actions: r.actions.length === 0 ? null : r.actions,
        actor: r.actor,
        tags: r.tags,
        created_at: new Date(created_ms),
        read_at: null,
      };
    }
    return stored;
  }

  /** A page of `view`, newest first. */
  list(userId: string, view: View, limit: number): Promise<NotificationRow[]> {
    const { values, param } = params(2);
    return this.query(pageSql('$1', '$2', view, param), [userId, limit, ...values]);
  }

  /** Each view's count (see viewCount), in one statement. */
  async counts(userId: string, views: View[]): Promise<number[]> {
    if (views.length === 0) return [];
    return (await this.countsOfMany([userId], views)).get(userId)!;
  }

  /** The counts of the same views for several users, in one statement. */
  async countsOfMany(userIds: string[], views: View[]): Promise<Map<string, number[]>> {
    const { values, param } = params(1);
    const columns = views.map((v, i) => `${viewCount('u.user_id', v, param)} AS c${i}`).join(', ');
    const rows: Record<string, number | string>[] = await this.query(
      `SELECT u.user_id, x.* FROM unnest($1::varchar[]) AS u(user_id)
         CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id')} SELECT ${columns}) x`,
      [userIds, ...values],
      { withoutJit: userIds.length > 1 },
    );
    return new Map(rows.map((r) => [String(r.user_id), views.map((_, i) => Number(r[`c${i}`]))]));
  }

  /** The badges of several users in one query. */
  async badges(userIds: string[]): Promise<Map<string, Badge>> {
    const rows: { user_id: string; unread: number; unseen: number }[] = await this.query(builtOnce('badges', () =>
      `SELECT u.user_id, x.* FROM unnest($1::varchar[]) AS u(user_id)
         CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id')} SELECT ${badgeColumns('u.user_id', noValues)}) x`,
    ), [userIds], { withoutJit: userIds.length > 1 });
    return new Map(rows.map((r) => [r.user_id, { unread: Number(r.unread), unseen: Number(r.unseen) }]));
  }

  /**
   * The reads of many connecting sockets in one statement (a reconnect storm costs a few
   * statements, not one per socket): for each, its catch-up (as `catchUp`, `limit` rows at most)
   * and its badge. All of one kind: with a cursor each, or none (the inbox's newest page).
   */
  async catchUps(
    sockets: { userId: string; cursor: string | null; held: string[] }[],
    limit: number,
    graceMs: number,
  ): Promise<{ rows: NotificationRow[]; badge: Badge; newest: string | null }[]> {
    const withCursor = sockets[0].cursor !== null;
    // Without JIT, as every read of many users (queryPoolWithoutJit).
    type Read = NotificationRow & { ord: string; unread: number; unseen: number; newest: string | null };
    const text = catchUpsSql(withCursor);
    const result = await this.query<Read>(
      text,
      [
        sockets.map((s) => s.userId),
        sockets.map((s) => s.cursor),
        sockets.map((s) => s.held.join(',')),
        limit,
        ...(withCursor ? [graceMs] : []),
      ],
      { withoutJit: sockets.length > 1 },
    );
    const out = sockets.map(() => ({ rows: [] as NotificationRow[], badge: { unread: 0, unseen: 0 }, newest: null as string | null }));
    for (const { ord, unread, unseen, newest, ...row } of result) {
      const socket = out[Number(ord) - 1];
      socket.badge = { unread: Number(unread), unseen: Number(unseen) };
      socket.newest = newest;
      if (row.id !== null) socket.rows.push(row);
    }
    return out;
  }

  /**
   * Per user, in one query: the topics whose rooms their sockets join (subscribed, not muted)
   * and the types they muted.
   */
  async roomsOfMany(userIds: string[]): Promise<Map<string, { topics: string[]; mutedTypes: string[] }>> {
    const rows: { user_id: string; topics: string[]; muted_types: string[] }[] = await this.query(
      `SELECT u.user_id, COALESCE(us.muted_types, '{}') AS muted_types,
              ARRAY(SELECT s.topic FROM inbox_subscription s
                     WHERE s.user_id = u.user_id AND NOT s.topic = ANY(COALESCE(us.muted_topics, '{}'))) AS topics
         FROM unnest($1::varchar[]) AS u(user_id) LEFT JOIN inbox_user_state us ON us.user_id = u.user_id`,
      [userIds],
    );
    return new Map(rows.map((r) => [r.user_id, { topics: r.topics, mutedTypes: r.muted_types }]));
  }

  /**
   * The oldest transaction still running: every row committed from now on has a `tx_id` at
   * least this (a transaction running now has an id at least this, a later one a larger one).
   */
  async horizon(): Promise<string> {
    const [{ horizon }] = await this.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`);
    return horizon;
  }

  /** Which of these ids are stored (committed, as seen from outside any transaction). */
  async existing(ids: string[]): Promise<Set<string>> {
    const rows: { id: string }[] = await this.query(
      `SELECT id::text FROM inbox_notification WHERE id = ANY($1::bigint[])`,
      [ids],
    );
    return new Set(rows.map((r) => r.id));
  }

  /** What `userId` may see among rows committed since `horizon()` returned `horizon`, newest first (among the newest `limit` of each stream). */
  committedSince(userId: string, horizon: string, limit: number): Promise<NotificationRow[]> {
    return this.query(committedSinceSql(), [userId, limit, horizon]);
  }

  /**
   * Where a reader of the SQL functions' rows starts: the transactions the current snapshot does
   * not see (still running, or not begun), whose rows the next `sqlCommittedSince` looks at.
   */
  async sqlSnapshot(): Promise<SqlSnapshot> {
    const [row] = await this.query(
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
    const result: (NotificationRow & { xmax: string; xip: string[] })[] = await this.query(
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

  /**
   * Sets `change` on the notifications among `ids` that `userId` may see and that it changes
   * (not deleted, not already in that state): direct rows in place, shared rows in the user's
   * receipts. Returns the ids changed.
   */
  async mark(userId: string, change: Mark, ids: string[], tx?: EntityManager): Promise<string[]> {
    const rows: { id: string }[] = await this.query(
      markSql(change),
      [userId, ids],
      { tx },
    );
    return rows.map((r) => r.id);
  }

  /**
   * Sets `change` on everything `userId` may see, in O(subscriptions): the watermarks move to
   * the end of each stream, and the direct one to the oldest transaction still running (every
   * older one has ended, so its rows are exactly what the user could see). The few direct rows
   * of younger transactions that are already committed are marked one by one. Archiving all
   * also drops the earlier "unarchived" marks (they are archived again). Returns how many
   * notifications of the inbox it changed, counted as `count` counts them (unread for read,
   * unseen for seen; for archived and deleted, its unread ones), before the change.
   */
  async markAll(userId: string, change: MarkAll, count: View): Promise<number> {
    const { values, param } = params(1);
    const [{ count: before }] = await this.query(markAllSql(change, count, param), [userId, ...values]);
    return Number(before);
  }

  /**
   * Snoozes what `userId` may see among `ids` until `until`: deleted for them now, in one
   * transaction with a row of `inbox_snooze` (SnoozeWaker brings each back as new then).
   * Returns the ids snoozed.
   */
  snooze(userId: string, ids: string[], until: Date): Promise<string[]> {
    return this.manager.transaction(async (tx) => {
      const snoozed = await this.mark(userId, 'deleted', ids, tx);
      await tx.query(
        `INSERT INTO inbox_snooze (user_id, notification_id, until) SELECT $1, unnest($2::bigint[]), $3
         ON CONFLICT (user_id, notification_id) DO UPDATE SET until = EXCLUDED.until`,
        [userId, snoozed, until],
      );
      return snoozed;
    });
  }

  /** Whether any snooze is due: one index probe, outside any transaction. */
  async snoozesDue(): Promise<boolean> {
    const [{ due }] = await this.query(`SELECT EXISTS (SELECT 1 FROM inbox_snooze WHERE until <= now()) AS due`);
    return due;
  }

  /**
   * Takes up to `limit` snoozes that are due, inside `tx` (skipping those another instance is
   * taking), with the content of their notifications.
   */
  takeDueSnoozes(tx: EntityManager, limit: number): Promise<(NotificationRow & { snoozed_user_id: string; until: Date; expires_at: Date | null })[]> {
    return tx.query(
      `WITH due AS (
         SELECT user_id, notification_id FROM inbox_snooze WHERE until <= now()
          ORDER BY until LIMIT $1 FOR UPDATE SKIP LOCKED
       ), taken AS (
         DELETE FROM inbox_snooze s USING due
          WHERE s.user_id = due.user_id AND s.notification_id = due.notification_id
         RETURNING s.user_id, s.notification_id, s.until
       )
       SELECT taken.user_id AS snoozed_user_id, taken.until, ${COLUMNS}, n.expires_at
         FROM taken JOIN inbox_notification n ON n.id = taken.notification_id`,
      [limit],
    );
  }

  async preferences(userId: string): Promise<Muted> {
    const rows: { muted_types: string[]; muted_topics: string[] }[] = await this.query(
      `SELECT muted_types, muted_topics FROM inbox_user_state WHERE user_id = $1`,
      [userId],
    );
    return { types: rows[0]?.muted_types ?? [], topics: rows[0]?.muted_topics ?? [] };
  }

  async setPreferences(userId: string, muted: Partial<Muted>): Promise<Muted> {
    const [row] = await this.query(
      `INSERT INTO inbox_user_state AS us (user_id, muted_types, muted_topics)
       VALUES ($1, COALESCE($2::text[], '{}'), COALESCE($3::text[], '{}'))
       ON CONFLICT (user_id) DO UPDATE
         SET muted_types = COALESCE($2::text[], us.muted_types), muted_topics = COALESCE($3::text[], us.muted_topics)
       RETURNING muted_types, muted_topics`,
      [userId, muted.types ?? null, muted.topics ?? null],
    );
    return { types: row.muted_types, topics: row.muted_topics };
  }

  /** Subscribes from the stream's current end on (rows still in flight included: they commit after it). */
  async subscribe(userId: string, topic: string): Promise<void> {
    await this.query(
      `INSERT INTO inbox_subscription (user_id, topic, from_seq, read_seq)
       SELECT $1, $2, s.seq, s.seq FROM (SELECT COALESCE((SELECT seq FROM inbox_stream WHERE stream = $2), 0) AS seq) s
       ON CONFLICT DO NOTHING`,
      [userId, topic],
    );
  }

  /** What `userId` may see in `topic` among rows committed since `horizon()` returned `horizon`. */
  topicCommittedSince(userId: string, topic: string, horizon: string): Promise<NotificationRow[]> {
    return this.query(
      `WITH ${USER_CTES('$1')}
       SELECT ${COLUMNS}, ${SHARED_STATE} FROM streams st CROSS JOIN state s
         JOIN inbox_notification n ON n.user_id IS NULL AND COALESCE(n.topic, '') = st.stream AND n.seq > st.after
         LEFT JOIN inbox_receipt r ON r.user_id = $1 AND r.notification_id = n.id
        WHERE st.stream = $2 AND n.tx_id >= $3::bigint AND ${LIVE} ORDER BY n.id`,
      [userId, topic, horizon],
    );
  }

  async unsubscribe(userId: string, topic: string): Promise<void> {
    await this.query(`DELETE FROM inbox_subscription WHERE user_id = $1 AND topic = $2`, [userId, topic]);
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
         UPDATE inbox_notification n SET title = NULL, body = NULL, data = NULL, url = NULL, actions = NULL, actor = NULL, tags = '{}'
          WHERE n.expires_at <= now() AND n.user_id IS NULL
            AND (n.title IS NOT NULL OR n.body IS NOT NULL OR n.data IS NOT NULL OR n.url IS NOT NULL
                 OR n.actions IS NOT NULL OR n.actor IS NOT NULL OR n.tags <> '{}')
         RETURNING n.id
       )
       SELECT (SELECT count(*) FROM old_direct) + (SELECT count(*) FROM old_shared)
            + (SELECT count(*) FROM expired_direct) + (SELECT count(*) FROM expired_shared) AS n`,
      [days, batchSize],
    );
    return Number(n);
  }
}
