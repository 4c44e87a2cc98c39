import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { queryPool, queryPoolWithoutJit } from '../compat/typeorm.compat';
import { INBOX_DATA_SOURCE } from '../notifications.internal-constants';
import type { StateChange } from '../protocol';
import { COLUMNS, DIRECT_STATE, INBOX, LIVE, Param, SHARED_STATE, USER_CTES, View, viewCount, viewRows, WATERMARK_LOOKBACK } from './inbox-view.sql';
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

/**
 * How far back the catch-up looks for rows older than the cursor that it may have to resend
 * (late commits, the grace window), per stream: read from the index alone.
 */
const CATCH_UP_LOOKBACK = 100;
/** Rows of the SQL functions one read of SqlProducerListener delivers at most. */
const SQL_BATCH = 1000;
/** The unseen count: the inbox view, counting unseen rather than unread. */
const UNSEEN: View = { state: 'unseen' };

/**
 * How many distinct statement texts get a name (NotificationStore.query); any more run unnamed.
 * The views' texts vary with a filter's shape, not its values: a host's few tabs make a few dozen.
 */
const MAX_NAMED_STATEMENTS = 500;

/** Parameters after the first `skip` (`$1`… are the query's own): returns the placeholder. */
function params(skip: number): { values: unknown[]; param: Param } {
  const values: unknown[] = [];
  return { values, param: (v) => `$${values.push(v) + skip}` };
}

/** For a statement that takes no filter values: building it with one is a bug. */
const noValues: Param = () => {
  throw new Error('nestjs-inbox: a constant statement was built with a filter value');
};

const constants = new Map<string, string>();
/**
 * A statement whose text never changes (no filter in it), built once: the hot reads of many
 * users (badges, catch-ups) would otherwise build ~10 KB of SQL per call, and hash it again to
 * find its prepared statement's name (NotificationStore.query).
 */
function constant(key: string, build: () => string): string {
  let text = constants.get(key);
  if (text === undefined) constants.set(key, (text = build()));
  return text;
}

/**
 * One page of view rows for `user` (an SQL expression), newest first, `limit` at most, each
 * once; `ctes` may add WITH clauses, `extra` whole branches (rows found by id, see catchUpSql).
 */
function pageSql(user: string, limit: string, view: View, param: Param, ctes = '', extra: string[] = []): string {
  return `WITH ${USER_CTES(user)}${ctes}
    SELECT DISTINCT ON (v.id) v.* FROM (${[...viewRows(user, view, limit, param), ...extra].join(' UNION ALL ')}) v
     ORDER BY v.id DESC LIMIT ${limit}`;
}

/** The badge of `user` as two columns, `unread` and `unseen`, over USER_CTES. */
const BADGE = (user: string, param: Param) =>
  `${viewCount(user, INBOX, param)} AS unread, ${viewCount(user, UNSEEN, param)} AS unseen`;

/**
 * Per state a user can set on one notification: the direct row's column and value, the
 * receipt's, and which rows it changes (a direct row `n` in state `s`, or a shared one with
 * receipt `r` in stream `st`, see inbox-view.sql.ts).
 */
/** A change `mark` makes (a snooze is a delete plus a snooze row, see `snooze`). */
export type Mark = Exclude<StateChange, 'snoozed'>;

const MARKS: Record<Mark, { column: string; value: string; direct: string; shared: string }> = {
  seen: {
    column: 'seen_at',
    value: 'now()',
    direct: 'n.read_at IS NULL AND n.seen_at IS NULL AND n.tx_id >= GREATEST(s.read_xmin, s.seen_xmin)',
    shared: 'r.read_at IS NULL AND r.seen_at IS NULL AND n.seq > st.seen',
  },
  read: {
    column: 'read_at',
    value: 'now()',
    direct: 'n.read_at IS NULL AND n.tx_id >= s.read_xmin',
    shared: 'r.read_at IS NULL AND n.seq > st.read',
  },
  archived: {
    column: 'archived',
    value: 'true',
    direct: 'NOT COALESCE(n.archived, n.tx_id < s.archived_xmin)',
    shared: 'NOT COALESCE(r.archived, n.seq <= st.archived)',
  },
  unarchived: {
    column: 'archived',
    value: 'false',
    direct: 'COALESCE(n.archived, n.tx_id < s.archived_xmin)',
    shared: 'COALESCE(r.archived, n.seq <= st.archived)',
  },
  deleted: { column: 'deleted_at', value: 'now()', direct: 'true', shared: 'true' },
};

/**
 * What "all" moves per state: the user's direct watermark (the oldest transaction running, and
 * for archived and deleted the id sequence's value, see the InboxStates migration) and the
 * stream positions.
 */
const WATERMARKS: Record<
  Exclude<Mark, 'unarchived'>,
  { direct: string[]; broadcast: string; topic: string; at?: string; unmarked: string }
> = {
  seen: { direct: ['direct_seen_xmin'], broadcast: 'broadcast_seen_seq', topic: 'seen_seq', at: 'seen_all_at', unmarked: 'n.seen_at IS NULL' },
  read: { direct: ['direct_read_xmin'], broadcast: 'broadcast_read_seq', topic: 'read_seq', at: 'read_all_at', unmarked: 'n.read_at IS NULL' },
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

/**
 * All SQL of the library. It runs on the host's DataSource (or the caller's EntityManager,
 * to join its transaction); every query that takes a user id only ever touches that user's
 * rows and the shared rows visible to them. The views' SQL is in inbox-view.sql.ts.
 */
@Injectable()
export class NotificationStore {
  constructor(@Inject(INBOX_DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** Statement texts and their names: each is prepared once per pooled connection. */
  private readonly names = new Map<string, string>();

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /**
   * Runs a statement in `tx`, or else on a pooled connection as a named prepared statement:
   * Postgres parses and plans it once per connection, then reuses a generic plan. Planning the
   * views' statements costs more than running them (at 10M rows: 1.5-2 ms against 0.5-1 ms,
   * bench/scale/explain-L.txt), and read-all, a page, a badge are one statement or two.
   * `withoutJit`: for the reads of many users (see queryPoolWithoutJit).
   */
  private query<R extends QueryResultRow>(text: string, values: unknown[] = [], { tx, withoutJit = false }: { tx?: EntityManager; withoutJit?: boolean } = {}): Promise<R[]> {
    if (tx) return tx.query(text, values);
    let name = this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED_STATEMENTS) {
      name = `nestjs-inbox:${createHash('sha1').update(text).digest('base64url')}`;
      this.names.set(text, name);
    }
    return (withoutJit ? queryPoolWithoutJit : queryPool)<R>(this.dataSource, { name, text, values });
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
    // Outside a caller's transaction the statement goes straight to the DataSource's pool as a
    // named prepared statement (see queryPool).
    const result: { ord: string; id: string; created_ms: number }[] = manager
      ? await manager.query(INSERT_SQL, values)
      : await queryPool(this.dataSource, { name: 'nestjs-inbox:insert', text: INSERT_SQL, values });
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

  /**
   * How many notifications `view` holds, counted up to `limit` (the page statement of `list`
   * cut at `limit`, so it costs what `limit` rows cost, never the history), and the newest one's id.
   */
  async countUpTo(userId: string, view: View, limit: number): Promise<{ count: number; newest: string | null }> {
    const { values, param } = params(2);
    const [row]: { count: number; newest: string | null }[] = await this.query(
      `SELECT count(*)::int AS count, max(p.id)::text AS newest FROM (${pageSql('$1', '$2', view, param)}) p`,
      [userId, limit, ...values],
    );
    return row;
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
    const rows: { user_id: string; unread: number; unseen: number }[] = await this.query(constant('badges', () =>
      `SELECT u.user_id, x.* FROM unnest($1::varchar[]) AS u(user_id)
         CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id')} SELECT ${BADGE('u.user_id', noValues)}) x`,
    ), [userIds], { withoutJit: userIds.length > 1 });
    return new Map(rows.map((r) => [r.user_id, { unread: Number(r.unread), unseen: Number(r.unseen) }]));
  }

  /**
   * Rows among the newest `lookback` of each stream (below `below`, if given) that
   * `accept` (over the columns tx_id, created_at of `b`), chosen from the indexes alone and then
   * read by id, as two branches for pageSql (`extra`) and the CTEs they need (`ctes`). Deleted
   * ones are left out; archived ones are not (a client that holds them learns their state).
   */
  private static recent(user: string, lookback: string, below: string | null, accept: string): { ctes: string; extra: string[] } {
    const bound = below ? `AND n.id < ${below}` : '';
    const ctes = `,
      recent_direct AS (
        SELECT b.id FROM (SELECT n.id, n.tx_id, n.created_at FROM inbox_notification n
                           WHERE n.user_id = ${user} ${bound} ORDER BY n.id DESC LIMIT ${lookback}) b
         WHERE ${accept}
      ), recent_shared AS (
        SELECT b.id, st.stream FROM streams st CROSS JOIN LATERAL (
          SELECT n.id, n.tx_id, n.created_at FROM inbox_notification n
           WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = st.stream ${bound}
           ORDER BY n.id DESC LIMIT ${lookback}) b
         WHERE ${accept}
      )`;
    const extra = [
      `(SELECT ${COLUMNS}, ${DIRECT_STATE}
          FROM recent_direct b JOIN inbox_notification n ON n.id = b.id CROSS JOIN state s
         WHERE ${LIVE} AND n.deleted_at IS NULL AND n.tx_id >= s.deleted_xmin)`,
      `(SELECT ${COLUMNS}, ${SHARED_STATE}
          FROM recent_shared b JOIN streams st ON st.stream = b.stream CROSS JOIN state s
          JOIN inbox_notification n ON n.id = b.id
          LEFT JOIN inbox_receipt r ON r.user_id = ${user} AND r.notification_id = n.id
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
   * it has by id. The older ones are looked for among the CATCH_UP_LOOKBACK rows of each stream
   * below the cursor.
   */
  private static catchUpSql(user: string, limit: string, param: Param, from: { cursor: string; grace: string; held: string }): string {
    // The anchor's columns come from a CTE: no row (so only `id >`) if the row is gone.
    const anchor = `,
      anchor AS (SELECT a.tx_horizon, a.created_at - ${from.grace}::int * interval '1 millisecond' AS since
                   FROM inbox_notification a WHERE a.id = ${from.cursor}::bigint)`;
    const late = NotificationStore.recent(
      user,
      String(CATCH_UP_LOOKBACK),
      `${from.cursor}::bigint`,
      `b.id <> ALL(${from.held}) AND EXISTS (SELECT 1 FROM anchor WHERE b.tx_id >= anchor.tx_horizon OR b.created_at >= anchor.since)`,
    );
    return pageSql(user, limit, { state: 'all', afterSql: from.cursor }, param, anchor + late.ctes, late.extra);
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
    const reads = () =>
      withCursor
        ? NotificationStore.catchUpSql('u.user_id', '$4', noValues, {
            cursor: 'u.cursor',
            grace: '$5',
            held: "string_to_array(u.held, ',')::bigint[]",
          })
        : pageSql('u.user_id', '$4', INBOX, noValues);
    // OFFSET 0 keeps the counts columns of each socket's row, computed once: flattened, the
    // planner evaluated them once per notification read (1,000 counts for a 1,000-row catch-up).
    // `newest`, the newest committed id in this statement's snapshot, is where a client that
    // holds nothing newer resumes (see CatchUp.cursor). Without JIT, as every read of many users
    // (queryPoolWithoutJit).
    type Read = NotificationRow & { ord: string; unread: number; unseen: number; newest: string | null };
    const text = constant(withCursor ? 'catch-ups from a cursor' : 'catch-ups of first visits', () =>
      `SELECT u.ord, u.unread, u.unseen, (SELECT max(m.id)::text FROM inbox_notification m) AS newest, x.*
         FROM (SELECT u.*, b.* FROM unnest($1::varchar[], $2::bigint[], $3::text[]) WITH ORDINALITY AS u(user_id, cursor, held, ord)
                 CROSS JOIN LATERAL (WITH ${USER_CTES('u.user_id')} SELECT ${BADGE('u.user_id', noValues)}) b
               OFFSET 0) u
         LEFT JOIN LATERAL (${reads()}) x ON true`,
    );
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
    const since = NotificationStore.recent('$1', '$2', null, 'b.tx_id >= $3::bigint');
    return this.query(
      `WITH ${USER_CTES('$1')}${since.ctes}
       SELECT DISTINCT ON (v.id) v.* FROM (${since.extra.join(' UNION ALL ')}) v ORDER BY v.id DESC LIMIT $2`,
      [userId, limit, horizon],
    );
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
    const m = MARKS[change];
    const rows: { id: string }[] = await this.query(
      `WITH ${USER_CTES('$1')}, direct AS (
         UPDATE inbox_notification n SET ${m.column} = ${m.value} FROM state s
          WHERE n.id = ANY($2::bigint[]) AND n.user_id = $1 AND ${LIVE}
            AND n.deleted_at IS NULL AND n.tx_id >= s.deleted_xmin AND ${m.direct}
         RETURNING n.id
       ), shared AS (
         INSERT INTO inbox_receipt AS o (user_id, notification_id, stream, seq, ${m.column})
         SELECT $1, n.id, st.stream, n.seq, ${m.value}
           -- Looked up by id (OFFSET 0 keeps the planner from walking a stream's index instead).
           FROM (SELECT * FROM inbox_notification WHERE id = ANY($2::bigint[]) AND user_id IS NULL OFFSET 0) n
           JOIN streams st ON st.stream = COALESCE(n.topic, '') AND n.seq > GREATEST(st.after, st.deleted)
           LEFT JOIN inbox_receipt r ON r.user_id = $1 AND r.notification_id = n.id
          WHERE ${LIVE} AND r.deleted_at IS NULL AND ${m.shared}
         ON CONFLICT (user_id, notification_id) DO UPDATE SET ${m.column} = EXCLUDED.${m.column}
         RETURNING notification_id AS id
       )
       SELECT id::text FROM direct UNION ALL SELECT id::text FROM shared`,
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
  async markAll(userId: string, change: Exclude<Mark, 'unarchived'>, count: View): Promise<number> {
    const w = WATERMARKS[change];
    const m = MARKS[change];
    const { values, param } = params(1);
    const idOf = w.direct[1] ? `, ${w.direct[1]}` : '';
    const [{ count: before }] = await this.query(
      `WITH ${USER_CTES('$1')}, before AS (
         SELECT ${viewCount('$1', count, param)} AS count
       ), horizon AS (
         SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin,
                (SELECT last_value FROM inbox_notification_id_seq) AS last_id
       ), in_flight AS (
         -- Direct rows of transactions running at the horizon that have committed since: the
         -- newest ones (their ids were drawn last), marked one by one.
         UPDATE inbox_notification n SET ${m.column} = ${m.value}
           FROM (SELECT b.id, b.tx_id FROM inbox_notification b WHERE b.user_id = $1
                  ORDER BY b.id DESC LIMIT ${WATERMARK_LOOKBACK}) b, horizon h
          WHERE n.id = b.id AND b.tx_id >= h.xmin AND ${w.unmarked}
       ), unarchived AS (
         ${change === 'archived'
           ? `UPDATE inbox_notification n SET archived = NULL FROM horizon h
               WHERE n.user_id = $1 AND n.archived = false AND n.tx_id < h.xmin`
           : 'SELECT 1'}
       ), unarchived_shared AS (
         ${change === 'archived'
           ? `UPDATE inbox_receipt r SET archived = NULL WHERE r.user_id = $1 AND r.archived = false`
           : 'SELECT 1'}
       ), broadcasts AS (
         INSERT INTO inbox_user_state AS us (user_id, ${w.direct[0]}${idOf}, ${w.broadcast}${w.at ? `, ${w.at}` : ''})
         SELECT $1, h.xmin${w.direct[1] ? ', h.last_id' : ''},
                COALESCE((SELECT seq FROM inbox_stream WHERE stream = ''), 0)${w.at ? ', now()' : ''} FROM horizon h
         ON CONFLICT (user_id) DO UPDATE
           SET ${[...w.direct, w.broadcast].map((c) => `${c} = GREATEST(us.${c}, EXCLUDED.${c})`).join(', ')}
               ${w.at ? `, ${w.at} = EXCLUDED.${w.at}` : ''}
       ), topics AS (
         UPDATE inbox_subscription s SET ${w.topic} = GREATEST(s.${w.topic}, t.seq)
           FROM inbox_stream t WHERE s.user_id = $1 AND t.stream = s.topic
       )
       SELECT count FROM before`,
      [userId, ...values],
    );
    return Number(before);
  }

  /**
   * Snoozes what `userId` may see among `ids` until `until`: deleted for them now, in one
   * transaction with a row of `inbox_snooze` (SnoozeWaker brings each back as new then).
   * `admit(pending, adding)` sees how many snoozes of the user were pending and how many this
   * one adds, and may throw to store nothing. Returns the ids snoozed.
   */
  snooze(userId: string, ids: string[], until: Date, admit?: (pending: number, adding: number) => void): Promise<string[]> {
    return this.manager.transaction(async (tx) => {
      const pending = admit ? await this.lockSnoozes(userId, tx) : 0;
      const snoozed = await this.mark(userId, 'deleted', ids, tx);
      admit?.(pending, snoozed.length);
      await tx.query(
        `INSERT INTO inbox_snooze (user_id, notification_id, until) SELECT $1, unnest($2::bigint[]), $3
         ON CONFLICT (user_id, notification_id) DO UPDATE SET until = EXCLUDED.until`,
        [userId, snoozed, until],
      );
      return snoozed;
    });
  }

  /**
   * Takes the user's snooze lock for `tx` (held until it ends, on every instance: two snoozes
   * of one user cannot both count the same pending ones) and counts their pending snoozes.
   */
  private async lockSnoozes(userId: string, tx: EntityManager): Promise<number> {
    await tx.query(`SELECT pg_advisory_xact_lock(hashtextextended('nestjs-inbox:snooze:' || $1, 0))`, [userId]);
    // A statement of its own: its snapshot, taken once the lock is held, sees the snoozes of
    // the transaction that held it before (one statement's would be older than its wait).
    const [{ pending }] = await tx.query(`SELECT count(*)::int AS pending FROM inbox_snooze WHERE user_id = $1`, [userId]);
    return pending;
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

  /** The muted types and topics of several users (those who muted something). */
  async mutedOfMany(userIds: string[]): Promise<Map<string, Muted>> {
    const rows: { user_id: string; muted_types: string[]; muted_topics: string[] }[] = await this.query(
      `SELECT user_id, muted_types, muted_topics FROM inbox_user_state
        WHERE user_id = ANY($1::varchar[]) AND (muted_types <> '{}' OR muted_topics <> '{}')`,
      [userIds],
    );
    return new Map(rows.map((r) => [r.user_id, { types: r.muted_types, topics: r.muted_topics }]));
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
