/**
 * Seeding for `npm run bench:scale`: fills a freshly migrated database with S or L worth of
 * notifications in a few statements of `generate_series`, no library call per row.
 *
 * ┌──────────────────────────────────────────────────────────────────────────────────────────┐
 * │ THIS FILE MIRRORS THE LIBRARY'S SCHEMA AND MUST CHANGE WITH IT.                          │
 * │ It is the only part of the scale bench that knows the tables: every measurement goes     │
 * │ through the public API (NotificationService, real socket.io-client connections).         │
 * │ The rows below are written exactly as the library's writes leave them today:             │
 * │  - inbox_notification: the columns of INSERT_SQL in                                      │
 * │    libs/nestjs-inbox/src/persistence/sql/insert.sql.ts (id from the table's sequence,    │
 * │    user_id | topic | neither, type, title, body, data, dedupe_key, expires_at, tx_id,    │
 * │    tx_horizon, created_at), plus read_at as InboxStateRepository.mark's UPDATE sets it   │
 * │    for a direct row the user has read;                                                   │
 * │    and seq / type_seq (a shared row's position in its stream, and among its stream's     │
 * │    rows of its type, as the commit-time trigger of the read-model and inbox-states       │
 * │    migrations assigns them); url, actor, tags as the INSERT writes them; seen_at,        │
 * │    archived, deleted_at as InboxStateRepository.mark's UPDATE sets them (by ids);        │
 * │  - inbox_subscription: (user_id, topic, created_at, tx_horizon, from_seq, read_seq), as  │
 * │    SubscriptionRepository.subscribe's INSERT and its column defaults write it;           │
 * │  - inbox_stream, inbox_stream_type: each stream's last position, and per type;           │
 * │  - inbox_receipt: (user_id, notification_id, stream, seq, one of read_at / seen_at /     │
 * │    archived / deleted_at) as InboxStateRepository.mark's INSERT writes it (by ids);      │
 * │  - inbox_user_state: (user_id, muted_types) as setPreferences' INSERT writes it, the     │
 * │    watermarks at their defaults (nobody marked all anything yet, see below).             │
 * │ Since the scopes migration (InboxScopes1764460800000) every row carries its scope, ''    │
 * │ for unscoped: on inbox_notification (INSERT_SQL writes `scope`; the column's default for │
 * │ the unscoped history) and in the streams, receipts (their stream's scope),               │
 * │ subscriptions and user state.                                                            │
 * │ When the schema changes (new migration), change seedNotificationsSql,                    │
 * │ seedScopedNotificationsSql and seedSubscriptionsSql (and add the per-user state the new  │
 * │ schema keeps) so that they again write what the library's own writes would have written  │
 * │ for the same history.                                                                    │
 * └──────────────────────────────────────────────────────────────────────────────────────────┘
 *
 * The history (the same shape at every size; only the counts change):
 *  - one timeline of `rows` notifications over the last 365 days, ids 1..rows in time order;
 *  - `broadcasts` broadcasts and `publications` topic publications spread evenly along it
 *    (interleaved with the direct rows, as a site that announces things all year long);
 *  - the direct rows go round robin to `users` users (`user-0` … `user-<users-1>`), so every
 *    user has about (rows - shared) / users of them spread over the year; types rotate over
 *    comment / mention / order / reminder / message, and `order` rows carry a dedupe key;
 *  - each user has read all their direct rows but the newest 3 (read an hour after they came);
 *  - per user, one by one (no watermark: nobody pressed "mark all …" yet): the newest read
 *    direct row archived, the one before it deleted, the oldest unread one seen; among the 10
 *    newest broadcasts, 2 read, 1 seen, 1 archived, 1 deleted (receipts), and the newest
 *    publication of their topic read: every user's unread count is about 2 + broadcasts +
 *    the publications of their topic, less what they muted;
 *  - broadcasts are of type `announcement`, every 4th of type `maintenance`; publications of
 *    type `release`; tags by type (`billing` only on direct `order` rows, see TAGS);
 *  - one user in 10 muted the type `reminder`, one in 20 the type `maintenance` (see MUTED);
 *  - user n is subscribed to topic `topic-<n mod topics>` since before the timeline starts,
 *    publications go round robin over the topics.
 *  - tx_id / tx_horizon: rows look written one small transaction at a time, in id order, by
 *    transactions older than any the bench (or the library) will run afterwards, so the
 *    gapless catch-up sees them as long committed.
 *  - the scoped history (issue 22) follows, ids rows+1 …: members in the SCOPES scopes, see
 *    ScopedSize and seedScopedNotificationsSql.
 */
import { Client } from 'pg';

export interface ScaleSize {
  name: string;
  /** Notifications of the unscoped history: direct rows + broadcasts + publications (the scoped history comes on top). */
  rows: number;
  users: number;
  broadcasts: number;
  topics: number;
  publications: number;
  /** The scoped history (issue 22): members of SCOPES workspaces, seeded after the unscoped one. */
  scoped: ScopedSize;
}

/**
 * The scoped history: `users` members (`member-<n>`), each in all SCOPES scopes, with `direct`
 * direct rows spread evenly over their 10 scopes and the unscoped inbox (one part in 11 each);
 * per scope `broadcasts` scoped broadcasts, and `publications` scoped publications on each of
 * `topics` topics (named as the unscoped ones: `topic-0` of scope S is another stream than the
 * unscoped `topic-0`).
 */
export interface ScopedSize {
  users: number;
  direct: number;
  broadcasts: number;
  topics: number;
  publications: number;
}

export const SIZES: Record<'S' | 'L', ScaleSize> = {
  // ≈ 10k rows: 2,000 users × ~5 direct, 10 broadcasts, 20 publications over 20 topics;
  // scoped: 150 members × 44 direct (4 per scope and 4 unscoped), per scope 10 broadcasts and 2 × 2 publications.
  S: {
    name: 'S',
    rows: 10_000,
    users: 2_000,
    broadcasts: 10,
    topics: 20,
    publications: 20,
    scoped: { users: 150, direct: 44, broadcasts: 10, topics: 2, publications: 2 },
  },
  // The issue's L: 10M rows, 100k users (~100 direct each), 10k broadcasts, 1k topics (20 publications each);
  // scoped (issue 22): 2,000 members × 1,100 direct (100 per scope and 100 unscoped), per scope 1,000
  // broadcasts and 5 × 200 publications: 2.2M more rows.
  L: {
    name: 'L',
    rows: 10_000_000,
    users: 100_000,
    broadcasts: 10_000,
    topics: 1_000,
    publications: 20_000,
    scoped: { users: 2_000, direct: 1_100, broadcasts: 1_000, topics: 5, publications: 200 },
  },
};

/** The scopes every member belongs to: `ws-0` … `ws-9`. */
export const SCOPES = 10;
export const scopeName = (n: number) => `ws-${n}`;
export const memberName = (n: number) => `member-${n}`;
/** The scope the bench measures member n in (any of the 10 would do: they are seeded alike). */
export const memberScope = (n: number) => scopeName(n % SCOPES);
/** Direct rows in one part of a member's history (a scope's, or the unscoped one's): the 11 parts get one row in turn. */
const PARTS = SCOPES + 1;
/** Scoped notifications in all at `size`. */
export const scopedRows = (size: ScaleSize) =>
  size.scoped.users * size.scoped.direct + SCOPES * (size.scoped.broadcasts + size.scoped.topics * size.scoped.publications);
/** Every notification seeded at `size`: the unscoped history and the scoped one. */
export const totalRows = (size: ScaleSize) => size.rows + scopedRows(size);

/** Direct rows a user has that are still unread (their newest ones). */
export const UNREAD_DIRECT_PER_USER = 3;
export const DIRECT_TYPES = ['comment', 'mention', 'order', 'reminder', 'message'];
export const BROADCAST_TYPE = 'announcement';
/** Every 4th broadcast (by position) is of this type. */
export const MAINTENANCE_TYPE = 'maintenance';
export const PUBLICATION_TYPE = 'release';
/** Tags by type: `billing` is on direct `order` rows only (a tab no shared row is in). */
export const TAGS: Record<string, string[]> = {
  comment: ['posts'],
  mention: ['posts', 'mentions'],
  order: ['billing'],
  reminder: [],
  message: ['dm'],
  [BROADCAST_TYPE]: ['product'],
  [MAINTENANCE_TYPE]: ['product', 'maintenance'],
  [PUBLICATION_TYPE]: ['releases'],
};
/**
 * Muted types: user n mutes `reminder` when n mod 10 = 3, `maintenance` when n mod 20 = 7 (not
 * `announcement`: the bench's own broadcasts are of that type, and must reach every user).
 */
export const MUTED: { type: string; every: number; at: number }[] = [
  { type: 'reminder', every: 10, at: 3 },
  { type: MAINTENANCE_TYPE, every: 20, at: 7 },
];
export const userName = (n: number) => `user-${n}`;
export const topicName = (n: number) => `topic-${n}`;
/** The topic user n is subscribed to. */
export const topicOf = (size: ScaleSize, n: number) => topicName(n % size.topics);

/** Statements of at most this many rows, so progress shows and no statement holds too much. */
const CHUNK = 1_000_000;
const TABLES = ['inbox_notification', 'inbox_subscription', 'inbox_stream', 'inbox_stream_type', 'inbox_receipt', 'inbox_user_state'];

const sqlArray = (xs: string[]) => `ARRAY[${xs.map((t) => `'${t}'`).join(',')}]::text[]`;
/** A type's tags, as an SQL CASE over the column expression `type`. */
const tagsOf = (type: string) =>
  `CASE ${type} ${Object.entries(TAGS)
    .map(([t, tags]) => `WHEN '${t}' THEN ${sqlArray(tags)}`)
    .join(' ')} ELSE '{}'::text[] END`;

/**
 * One chunk [lo, hi] of the timeline. Position p (= id) is shared iff floor(p·K/R) steps
 * there (K = broadcasts + publications, exactly K such p, evenly spread); shared row k is a
 * broadcast iff floor((k+1)·B/K) steps (B of them, evenly spread among the shared rows). Direct
 * row d (0-based among direct rows) belongs to user d mod U and is that user's q = d div U-th.
 */
function seedNotificationsSql(size: ScaleSize, lo: number, hi: number, txBase: number, txSpan: number): string {
  const R = size.rows;
  const K = size.broadcasts + size.publications;
  const B = size.broadcasts;
  const U = size.users;
  const D = R - K;
  const types = `ARRAY[${DIRECT_TYPES.map((t) => `'${t}'`).join(',')}]`;
  // A direct row's q among its user's nq rows: read below nq - 3; by ids, the newest read one
  // archived, the one before it deleted, the oldest unread one seen.
  const nq = `(${Math.floor(D / U)} + (CASE WHEN s.u < ${D % U} THEN 1 ELSE 0 END))`;
  const bseq = `(((s.k + 1) * ${B}) / ${K})`;
  return `
    INSERT INTO inbox_notification
           (id, user_id, topic, type, title, body, data, dedupe_key, expires_at, tx_id, tx_horizon, created_at, read_at, seq,
            url, actor, tags, type_seq, seen_at, archived, deleted_at)
    SELECT s.p, s.user_id, s.topic, s.type, s.title, s.body, s.data, s.dedupe_key, NULL, s.tx, s.tx, s.at,
           CASE WHEN NOT s.shared AND s.q < ${nq} - ${UNREAD_DIRECT_PER_USER} THEN s.at + interval '1 hour' END,
           s.seq,
           CASE WHEN NOT s.shared THEN '/posts/' || (s.d % 100000) || '#comment-' || s.d
                WHEN s.bcast THEN '/blog/announcements/' || s.k ELSE '/topics/' || (s.j % ${size.topics}) || '/releases/' || s.j END,
           CASE WHEN NOT s.shared THEN jsonb_build_object('id', 'user-' || ((s.u + 1) % ${U}), 'name', 'Alice',
                                                          'avatarUrl', '/avatars/' || ((s.u + 1) % ${U}) || '.png') END,
           ${tagsOf('s.type')},
           -- A shared row's ordinal among its stream's rows of its type.
           CASE WHEN s.bcast AND s.type = '${MAINTENANCE_TYPE}' THEN s.seq / 4
                WHEN s.bcast THEN s.seq - s.seq / 4
                WHEN s.shared THEN s.seq END,
           CASE WHEN NOT s.shared AND s.q = ${nq} - ${UNREAD_DIRECT_PER_USER} THEN s.at + interval '30 minutes' END,
           CASE WHEN NOT s.shared AND s.q = ${nq} - ${UNREAD_DIRECT_PER_USER} - 1 THEN true END,
           CASE WHEN NOT s.shared AND s.q = ${nq} - ${UNREAD_DIRECT_PER_USER} - 2 THEN s.at + interval '2 hours' END
      FROM (
    SELECT g.p, s.*,
           CASE WHEN s.shared THEN NULL ELSE 'user-' || s.u END AS user_id,
           CASE WHEN s.shared AND NOT s.bcast THEN 'topic-' || (s.j % ${size.topics}) END AS topic,
           CASE WHEN NOT s.shared THEN (${types})[((s.q + s.u) % 5) + 1]
                WHEN s.bcast AND ${bseq} % 4 = 0 THEN '${MAINTENANCE_TYPE}'
                WHEN s.bcast THEN '${BROADCAST_TYPE}' ELSE '${PUBLICATION_TYPE}' END AS type,
           CASE WHEN NOT s.shared THEN 'New comment on your post'
                WHEN s.bcast THEN 'Scheduled maintenance on Sunday night'
                ELSE 'A new release of topic-' || (s.j % ${size.topics}) || ' is out' END AS title,
           CASE WHEN NOT s.shared THEN 'Alice replied: "Looks good to me, shipping it after lunch."'
                WHEN s.bcast THEN 'The site will be read-only for about 20 minutes from 02:00 UTC while we upgrade the database.'
                ELSE 'Version ' || s.j || ' fixes the issues reported last week; see the changelog for details.' END AS body,
           CASE WHEN NOT s.shared THEN jsonb_build_object('post', s.d % 100000, 'seq', s.d)
                WHEN s.bcast THEN jsonb_build_object('post', s.k)
                ELSE jsonb_build_object('release', s.j) END AS data,
           CASE WHEN NOT s.shared AND ((s.q + s.u) % 5) = 2 THEN 'order-shipped:' || s.d END AS dedupe_key,
           -- A shared row's position in its stream: broadcasts 1..B, each topic's publications 1..
           CASE WHEN s.bcast THEN ${bseq}
                WHEN s.shared THEN s.j / ${size.topics} + 1 END AS seq
      FROM generate_series(${lo}::bigint, ${hi}::bigint) AS g(p)
     CROSS JOIN LATERAL (SELECT (g.p * ${K}) / ${R} AS sc, ((g.p - 1) * ${K}) / ${R} AS sc_prev) a
     CROSS JOIN LATERAL (SELECT a.sc <> a.sc_prev AS shared, a.sc - 1 AS k, g.p - 1 - a.sc AS d) b
     CROSS JOIN LATERAL (
       SELECT b.shared,
              b.shared AND ((b.k + 1) * ${B}) / ${K} <> (b.k * ${B}) / ${K} AS bcast,
              b.k,
              b.k - ((b.k + 1) * ${B}) / ${K} AS j,
              b.d,
              b.d % ${U} AS u,
              b.d / ${U} AS q,
              -- Over the whole seeded timeline, the scoped history's rows last (see seedScopedNotificationsSql).
              ${txBase}::bigint + ((g.p - 1) * ${txSpan}::bigint) / ${totalRows(size)} AS tx,
              $1::timestamptz + (g.p::float8 / ${R}) * interval '365 days' AS at
     ) s
      ) s`;
}

/**
 * One chunk [lo, hi] (1-based, within the scoped history) of the scoped history, ids R+1 … R+Z
 * after the unscoped ones (R = size.rows; Z = scopedRows), over the same year and, as every seeded
 * row, written by a long-committed transaction (tx_id in id order after the unscoped rows').
 * Position i is shared iff floor(i·K/Z) steps there (K = SCOPES × per-scope shared rows); shared
 * row k is of scope `ws-<k mod 10>` and is that scope's m = k div 10-th shared row, a broadcast
 * iff floor((m+1)·B/Ks) steps (B broadcasts among the scope's Ks shared rows), else publication
 * j of its topic `topic-<j mod topics>`. Direct row d belongs to member d mod U and is their
 * q = d div U-th; its part is q mod 11: part 10 unscoped, part t of scope ws-<(t + member) mod 10>;
 * within its part it is the q div 11-th. As in the unscoped history: all but the newest 3 of each
 * part read; per part, the newest read one archived, the one before it deleted, the oldest unread
 * one seen (by ids).
 */
function seedScopedNotificationsSql(size: ScaleSize, lo: number, hi: number, txBase: number, txSpan: number): string {
  const sc = size.scoped;
  const R = size.rows;
  const Z = scopedRows(size);
  const Ks = sc.broadcasts + sc.topics * sc.publications;
  const K = SCOPES * Ks;
  const B = sc.broadcasts;
  const U = sc.users;
  const types = `ARRAY[${DIRECT_TYPES.map((t) => `'${t}'`).join(',')}]`;
  // Rows in the member's part (q mod 11) of their `direct`, and the row's place in it.
  const nq = `((${sc.direct} - 1 - s.part) / ${PARTS} + 1)`;
  const qp = `(s.q / ${PARTS})`;
  return `
    INSERT INTO inbox_notification
           (id, user_id, topic, scope, type, title, body, data, dedupe_key, expires_at, tx_id, tx_horizon, created_at, read_at, seq,
            url, actor, tags, type_seq, seen_at, archived, deleted_at)
    SELECT ${R} + s.i, s.user_id, s.topic, s.scope, s.type, s.title, s.body, s.data, s.dedupe_key, NULL, s.tx, s.tx, s.at,
           CASE WHEN NOT s.shared AND ${qp} < ${nq} - ${UNREAD_DIRECT_PER_USER} THEN s.at + interval '1 hour' END,
           s.seq,
           CASE WHEN NOT s.shared THEN '/posts/' || (s.d % 100000) || '#comment-' || s.d
                WHEN s.bcast THEN '/blog/announcements/' || s.k ELSE '/topics/' || (s.j % ${sc.topics}) || '/releases/' || s.j END,
           CASE WHEN NOT s.shared THEN jsonb_build_object('id', 'member-' || ((s.u + 1) % ${U}), 'name', 'Alice',
                                                          'avatarUrl', '/avatars/' || ((s.u + 1) % ${U}) || '.png') END,
           ${tagsOf('s.type')},
           CASE WHEN s.bcast AND s.type = '${MAINTENANCE_TYPE}' THEN s.seq / 4
                WHEN s.bcast THEN s.seq - s.seq / 4
                WHEN s.shared THEN s.seq END,
           CASE WHEN NOT s.shared AND ${qp} = ${nq} - ${UNREAD_DIRECT_PER_USER} THEN s.at + interval '30 minutes' END,
           CASE WHEN NOT s.shared AND ${qp} = ${nq} - ${UNREAD_DIRECT_PER_USER} - 1 THEN true END,
           CASE WHEN NOT s.shared AND ${qp} = ${nq} - ${UNREAD_DIRECT_PER_USER} - 2 THEN s.at + interval '2 hours' END
      FROM (
    SELECT s.*,
           CASE WHEN s.shared THEN NULL ELSE 'member-' || s.u END AS user_id,
           CASE WHEN s.shared AND NOT s.bcast THEN 'topic-' || (s.j % ${sc.topics}) END AS topic,
           CASE WHEN s.shared THEN 'ws-' || (s.k % ${SCOPES})
                WHEN s.part < ${SCOPES} THEN 'ws-' || ((s.part + s.u) % ${SCOPES}) ELSE '' END AS scope,
           CASE WHEN NOT s.shared THEN (${types})[((s.q + s.u) % 5) + 1]
                WHEN s.bcast AND s.bseq % 4 = 0 THEN '${MAINTENANCE_TYPE}'
                WHEN s.bcast THEN '${BROADCAST_TYPE}' ELSE '${PUBLICATION_TYPE}' END AS type,
           CASE WHEN NOT s.shared THEN 'New comment on your post'
                WHEN s.bcast THEN 'Scheduled maintenance on Sunday night'
                ELSE 'A new release of topic-' || (s.j % ${sc.topics}) || ' is out' END AS title,
           CASE WHEN NOT s.shared THEN 'Alice replied: "Looks good to me, shipping it after lunch."'
                WHEN s.bcast THEN 'The site will be read-only for about 20 minutes from 02:00 UTC while we upgrade the database.'
                ELSE 'Version ' || s.j || ' fixes the issues reported last week; see the changelog for details.' END AS body,
           CASE WHEN NOT s.shared THEN jsonb_build_object('post', s.d % 100000, 'seq', s.d)
                WHEN s.bcast THEN jsonb_build_object('post', s.k)
                ELSE jsonb_build_object('release', s.j) END AS data,
           CASE WHEN NOT s.shared AND ((s.q + s.u) % 5) = 2 THEN 'order-shipped:m' || s.d END AS dedupe_key,
           -- A shared row's position in its stream (topic or '', scope): broadcasts 1..B, each topic's publications 1..
           CASE WHEN s.bcast THEN s.bseq WHEN s.shared THEN s.j / ${sc.topics} + 1 END AS seq
      FROM generate_series(${lo}::bigint, ${hi}::bigint) AS g(i)
     CROSS JOIN LATERAL (SELECT (g.i * ${K}) / ${Z} AS sc, ((g.i - 1) * ${K}) / ${Z} AS sc_prev) a
     CROSS JOIN LATERAL (SELECT a.sc <> a.sc_prev AS shared, a.sc - 1 AS k, (a.sc - 1) / ${SCOPES} AS m, g.i - 1 - a.sc AS d) b
     CROSS JOIN LATERAL (
       SELECT g.i, b.shared, b.k, b.d,
              b.shared AND ((b.m + 1) * ${B}) / ${Ks} <> (b.m * ${B}) / ${Ks} AS bcast,
              ((b.m + 1) * ${B}) / ${Ks} AS bseq,
              b.m - ((b.m + 1) * ${B}) / ${Ks} AS j,
              b.d % ${U} AS u,
              b.d / ${U} AS q,
              (b.d / ${U}) % ${PARTS} AS part,
              ${txBase}::bigint + ((${R} + g.i - 1) * ${txSpan}::bigint) / ${totalRows(size)} AS tx,
              $1::timestamptz + (g.i::float8 / ${Z}) * interval '365 days' AS at
     ) s
      ) s`;
}

function seedSubscriptionsSql(size: ScaleSize, txBase: number): string {
  // Made before the timeline starts, by a transaction older than every seeded row's: they see
  // their topic from its first row on (from_seq 0) and have read none of it (read_seq 0).
  return `
    INSERT INTO inbox_subscription (user_id, topic, scope, created_at, tx_horizon, from_seq, read_seq)
    SELECT 'user-' || n, 'topic-' || (n % ${size.topics}), '', $1::timestamptz - interval '1 day', ${txBase}::bigint - 1, 0, 0
      FROM generate_series(0, ${size.users - 1}) AS n
    UNION ALL
    -- Member n: topic-<n mod topics> in each of their scopes, as subscribe(u, t, { scope }) writes it,
    -- and topic-<n mod (unscoped topics)> unscoped (its publications show in every scope).
    SELECT 'member-' || n, 'topic-' || (n % ${size.scoped.topics}), 'ws-' || w, $1::timestamptz - interval '1 day', ${txBase}::bigint - 1, 0, 0
      FROM generate_series(0, ${size.scoped.users - 1}) AS n CROSS JOIN generate_series(0, ${SCOPES - 1}) AS w
    UNION ALL
    SELECT 'member-' || n, 'topic-' || (n % ${size.topics}), '', $1::timestamptz - interval '1 day', ${txBase}::bigint - 1, 0, 0
      FROM generate_series(0, ${size.scoped.users - 1}) AS n`;
}

/** Each stream's last position, as the library's commit-time trigger leaves it. */
function seedStreamsSql(size: ScaleSize): string {
  return `
    INSERT INTO inbox_stream (stream, scope, seq)
    SELECT '', '', ${size.broadcasts}
    UNION ALL
    SELECT 'topic-' || t, '', (${size.publications} - 1 - t) / ${size.topics} + 1
      FROM generate_series(0, LEAST(${size.topics}, ${size.publications}) - 1) AS t
    UNION ALL
    SELECT '', 'ws-' || w, ${size.scoped.broadcasts} FROM generate_series(0, ${SCOPES - 1}) AS w
    UNION ALL
    SELECT 'topic-' || t, 'ws-' || w, ${size.scoped.publications}
      FROM generate_series(0, ${size.scoped.topics - 1}) AS t CROSS JOIN generate_series(0, ${SCOPES - 1}) AS w`;
}

/** Each stream's count of rows per type (the last type_seq), as the trigger leaves it. */
function seedStreamTypesSql(size: ScaleSize): string {
  const B = size.broadcasts;
  const Bs = size.scoped.broadcasts;
  return `
    INSERT INTO inbox_stream_type (stream, scope, type, seq)
    SELECT '', '', '${BROADCAST_TYPE}', ${B - Math.floor(B / 4)} WHERE ${B - Math.floor(B / 4)} > 0
    UNION ALL
    SELECT '', '', '${MAINTENANCE_TYPE}', ${Math.floor(B / 4)} WHERE ${Math.floor(B / 4)} > 0
    UNION ALL
    SELECT 'topic-' || t, '', '${PUBLICATION_TYPE}', (${size.publications} - 1 - t) / ${size.topics} + 1
      FROM generate_series(0, LEAST(${size.topics}, ${size.publications}) - 1) AS t
    UNION ALL
    SELECT '', 'ws-' || w, x.type, x.seq
      FROM generate_series(0, ${SCOPES - 1}) AS w
     CROSS JOIN (VALUES ('${BROADCAST_TYPE}', ${Bs - Math.floor(Bs / 4)}), ('${MAINTENANCE_TYPE}', ${Math.floor(Bs / 4)})) AS x(type, seq)
     WHERE x.seq > 0
    UNION ALL
    SELECT 'topic-' || t, 'ws-' || w, '${PUBLICATION_TYPE}', ${size.scoped.publications}
      FROM generate_series(0, ${size.scoped.topics - 1}) AS t CROSS JOIN generate_series(0, ${SCOPES - 1}) AS w`;
}

/**
 * The shared rows' ids by stream and position, computed (not read from the table): shared row
 * k (0-based) is at the first position p where floor(p·K/R) reaches k + 1, see
 * seedNotificationsSql.
 */
function seedSharedMapSql(size: ScaleSize): string {
  const R = size.rows;
  const K = size.broadcasts + size.publications;
  const B = size.broadcasts;
  const sc = size.scoped;
  const Ks = sc.broadcasts + sc.topics * sc.publications;
  const Kz = SCOPES * Ks;
  const Z = scopedRows(size);
  return `
    CREATE TEMP TABLE seed_shared AS
    SELECT x.p AS id, CASE WHEN x.bcast THEN '' ELSE 'topic-' || (x.j % ${size.topics}) END AS stream, ''::text AS scope,
           CASE WHEN x.bcast THEN ((x.k + 1) * ${B}) / ${K} ELSE x.j / ${size.topics} + 1 END AS seq
      FROM (SELECT k, ((k + 1) * ${R}::bigint + ${K - 1}) / ${K} AS p,
                   ((k + 1) * ${B}) / ${K} <> (k * ${B}) / ${K} AS bcast, k - ((k + 1) * ${B}) / ${K} AS j
              FROM generate_series(0::bigint, ${K - 1}::bigint) AS k) x
    UNION ALL
    -- The scoped history's (seedScopedNotificationsSql): shared row k at the first i where floor(i·Kz/Z) reaches k + 1.
    SELECT ${R} + x.i, CASE WHEN x.bcast THEN '' ELSE 'topic-' || (x.j % ${sc.topics}) END, 'ws-' || (x.k % ${SCOPES}),
           CASE WHEN x.bcast THEN ((x.m + 1) * ${sc.broadcasts}) / ${Ks} ELSE x.j / ${sc.topics} + 1 END
      FROM (SELECT k, k / ${SCOPES} AS m, ((k + 1) * ${Z}::bigint + ${Kz - 1}) / ${Kz} AS i,
                   ((k / ${SCOPES} + 1) * ${sc.broadcasts}) / ${Ks} <> ((k / ${SCOPES}) * ${sc.broadcasts}) / ${Ks} AS bcast,
                   k / ${SCOPES} - ((k / ${SCOPES} + 1) * ${sc.broadcasts}) / ${Ks} AS j
              FROM generate_series(0::bigint, ${Kz - 1}::bigint) AS k) x;
    CREATE INDEX ON seed_shared (stream, scope, seq);
    ANALYZE seed_shared`;
}

/**
 * Receipts, one by one as InboxStateRepository.mark writes them (one column set each, `scope` its
 * stream's): per user n, among the 10 newest broadcasts, 2 read, 1 seen, 1 archived, 1 deleted
 * (which ones varies with n), and the newest publication of their topic read; per member, the
 * same in the unscoped streams and in each of their scopes' (its broadcasts, its topic).
 */
function seedReceiptsSql(size: ScaleSize): string {
  // Each user's unscoped inbox; each member's unscoped inbox and their 10 scopes' (the same receipts
  // in each), with the topic subscribed there (as seedSubscriptionsSql).
  return `
    WITH audience AS (
      SELECT 'user-' || u AS user_id, u, ''::text AS scope, 'topic-' || (u % ${size.topics}) AS topic
        FROM generate_series(0, ${size.users - 1}) AS u
      UNION ALL
      SELECT 'member-' || u, u, '', 'topic-' || (u % ${size.topics}) FROM generate_series(0, ${size.scoped.users - 1}) AS u
      UNION ALL
      SELECT 'member-' || u, u, 'ws-' || w, 'topic-' || (u % ${size.scoped.topics})
        FROM generate_series(0, ${size.scoped.users - 1}) AS u CROSS JOIN generate_series(0, ${SCOPES - 1}) AS w
    )
    INSERT INTO inbox_receipt (user_id, notification_id, stream, scope, seq, read_at, seen_at, archived, deleted_at)
    SELECT a.user_id, m.id, m.stream, m.scope, m.seq,
           CASE WHEN r.kind = 'read' THEN now() - interval '1 hour' END,
           CASE WHEN r.kind = 'seen' THEN now() - interval '1 hour' END,
           CASE WHEN r.kind = 'archived' THEN true END,
           CASE WHEN r.kind = 'deleted' THEN now() - interval '1 hour' END
      FROM audience a
      JOIN inbox_stream b ON b.stream = '' AND b.scope = a.scope
     CROSS JOIN LATERAL (VALUES ('read', b.seq - a.u % 3), ('read', b.seq - 3), ('seen', b.seq - 4),
                                ('archived', b.seq - 5 - a.u % 2), ('deleted', b.seq - 7 - a.u % 2)) AS r(kind, seq)
      JOIN seed_shared m ON m.stream = '' AND m.scope = a.scope AND m.seq = r.seq
    UNION ALL
    SELECT a.user_id, m.id, m.stream, m.scope, m.seq, now() - interval '1 hour', NULL, NULL, NULL
      FROM audience a
      JOIN inbox_stream t ON t.stream = a.topic AND t.scope = a.scope
      JOIN seed_shared m ON m.stream = t.stream AND m.scope = t.scope AND m.seq = t.seq`;
}

/** The users who muted a type (MUTED), and each member in one scope, as setPreferences writes them (every watermark at 0). */
function seedUserStateSql(size: ScaleSize): string {
  return `
    INSERT INTO inbox_user_state (user_id, scope, muted_types)
    SELECT 'user-' || u, '', CASE ${MUTED.map((m) => `WHEN u % ${m.every} = ${m.at} THEN ARRAY['${m.type}']`).join(' ')} END
      FROM generate_series(0, ${size.users - 1}) AS u
     WHERE ${MUTED.map((m) => `u % ${m.every} = ${m.at}`).join(' OR ')}
    UNION ALL
    -- Member n muted \`reminder\` in the scope after the one the bench measures them in (another scope's preferences).
    SELECT 'member-' || u, 'ws-' || ((u + 1) % ${SCOPES}), ARRAY['reminder']
      FROM generate_series(0, ${size.scoped.users - 1}) AS u`;
}

export interface SeedReport {
  seconds: number;
  /** Seconds of each step: insert, indexes, vacuum analyze. */
  steps: Record<string, number>;
  rows: number;
}

/**
 * Seeds `size` into the (migrated, empty) database at `url`. Secondary indexes are dropped and
 * rebuilt from their own definitions (read from the catalog, so this part needs no change with
 * the schema), which is several times faster than maintaining them row by row; then VACUUM
 * ANALYZE, as autovacuum would eventually do.
 */
export async function seed(url: string, size: ScaleSize, log: (msg: string) => void): Promise<SeedReport> {
  const t0 = Date.now();
  const steps: Record<string, number> = {};
  const step = async (name: string, run: () => Promise<unknown>) => {
    const t = Date.now();
    await run();
    steps[name] = (Date.now() - t) / 1000;
    log(`  seed ${size.name}: ${name} ${steps[name].toFixed(1)} s`);
  };
  const connect = async () => {
    const c = new Client({ connectionString: url });
    await c.connect();
    // Only this session's settings: the shared server's configuration is left alone.
    await c.query(`SET maintenance_work_mem = '1GB'; SET work_mem = '256MB'; SET synchronous_commit = off`);
    // The seed writes each shared row's seq itself: the commit-time trigger that assigns it one
    // by one is off in this session (as for a replica applying rows).
    await c.query(`SET session_replication_role = replica`);
    return c;
  };
  const c = await connect();
  try {
    // The seeded transactions are older than any that runs after the seed: ids from 1 up to
    // just below the current one (many rows share one when there are fewer xids than rows,
    // as the rows of one group-commit INSERT do).
    const [{ xid }] = (await c.query(`SELECT pg_current_xact_id()::text::bigint AS xid`)).rows;
    const txBase = 2;
    const txSpan = Math.max(1, Number(xid) - 10);
    const { rows: starts } = await c.query(`SELECT date_trunc('second', now() - interval '365 days' - interval '1 hour') AS t`);
    const timelineStart: Date = starts[0].t;

    const { rows: indexes } = await c.query(
      `SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS def
         FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY($1) AND t.relnamespace = 'public'::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)`,
      [TABLES],
    );
    await c.query(indexes.map((i) => `DROP INDEX ${i.name};`).join('\n'));

    await step('insert notifications', async () => {
      // Two sessions, one per core, each inserting its own chunks.
      // The unscoped history's chunks, then the scoped history's.
      const chunks: [(lo: number, hi: number) => string, number, number][] = [];
      for (let lo = 1; lo <= size.rows; lo += CHUNK)
        chunks.push([(a, b) => seedNotificationsSql(size, a, b, txBase, txSpan), lo, Math.min(size.rows, lo + CHUNK - 1)]);
      const Z = scopedRows(size);
      for (let lo = 1; lo <= Z; lo += CHUNK)
        chunks.push([(a, b) => seedScopedNotificationsSql(size, a, b, txBase, txSpan), lo, Math.min(Z, lo + CHUNK - 1)]);
      const all = totalRows(size);
      const workers = chunks.length > 1 ? [c, await connect()] : [c];
      let next = 0;
      let done = 0;
      await Promise.all(
        workers.map(async (w) => {
          while (next < chunks.length) {
            const [sql, lo, hi] = chunks[next++];
            await w.query(sql(lo, hi), [timelineStart]);
            done += hi - lo + 1;
            if (chunks.length > 2) log(`  seed ${size.name}: ${done.toLocaleString('en')} / ${all.toLocaleString('en')} rows`);
          }
        }),
      );
      for (const w of workers) if (w !== c) await w.end();
      const seq = await c.query(`SELECT pg_get_serial_sequence('inbox_notification', 'id') AS seq`);
      await c.query(`SELECT setval($1, $2)`, [seq.rows[0].seq, all]);
    });
    await step('insert subscriptions', async () => {
      await c.query(seedSubscriptionsSql(size, txBase), [timelineStart]);
      await c.query(seedStreamsSql(size));
      await c.query(seedStreamTypesSql(size));
      // The receipts' statement joins these: planned on their real sizes, not on empty tables'.
      await c.query(`ANALYZE inbox_stream, inbox_subscription`);
    });
    await step('insert receipts and preferences', async () => {
      await c.query(seedSharedMapSql(size));
      await c.query(seedReceiptsSql(size));
      await c.query(`DROP TABLE seed_shared`);
      await c.query(seedUserStateSql(size));
    });
    await step('rebuild indexes', async () => {
      // Two at a time (one session per core); each may use parallel maintenance workers too.
      const c2 = await connect();
      const queue = [...indexes];
      await Promise.all(
        [c, c2].map(async (w) => {
          for (let i = queue.shift(); i; i = queue.shift()) await w.query(i.def);
        }),
      );
      await c2.end();
    });
    await step('vacuum analyze', () => c.query(`VACUUM (ANALYZE) ${TABLES.join(', ')}`));
  } finally {
    await c.end();
  }
  return { seconds: (Date.now() - t0) / 1000, steps, rows: totalRows(size) };
}
