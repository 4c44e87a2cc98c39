import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { parse as parseCookie } from 'cookie';
import { Pool } from 'pg';
import { createClient } from 'redis';
import { Server, type Socket } from 'socket.io';
import { now } from '../lib/clock';
import { EventLoopWatch } from '../lib/event-loop';
import { serve } from '../lib/ipc';
import { BODY, burst, cpu, data, memory, paced, rss, snapshot, TITLE } from './load';

/**
 * The baseline: what a site wires by hand. A bare Socket.IO server with the same namespace,
 * the same cookie check and Origin check, the same user rooms and the same payload, but no
 * database on the way (except for the catch-up, where it reads a plain table the same way).
 */
const { DATABASE_URL, REDIS_URL, REDIS_KEY, ORIGIN, FIRST_VISIT_READ } = process.env as Record<string, string>;

const PLAIN_TABLE = 'bench_plain_notification';

async function main() {
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  if (REDIS_URL) {
    const pub = createClient({ url: REDIS_URL });
    const sub = pub.duplicate();
    for (const c of [pub, sub]) c.on('error', (err) => console.error(`redis: ${err.message}`));
    await Promise.all([pub.connect(), sub.connect()]);
    io.adapter(createAdapter(pub, sub, { key: REDIS_KEY }));
  }
  const pool = new Pool({ connectionString: DATABASE_URL, max: 10 });
  const nsp = io.of('/notifications');

  nsp.use((socket, next) => {
    const { origin, cookie } = socket.handshake.headers;
    if (origin !== undefined && origin !== ORIGIN) return next(new Error('origin not allowed'));
    const uid = parseCookie(cookie ?? '').uid;
    if (!uid) return next(new Error('unauthorized'));
    socket.data.userId = uid;
    next();
  });

  nsp.on('connection', async (socket: Socket) => {
    const userId: string = socket.data.userId;
    socket.join(`inbox:user:${userId}`);
    // The catch-up baseline: newest first from a plain table, sent oldest first.
    if (socket.handshake.auth?.cursor) {
      const { rows } = await pool.query(
        `SELECT id, user_id, topic, type, title, body, data, created_at, read_at FROM ${PLAIN_TABLE}
          WHERE user_id = $1 AND id > $2 ORDER BY id DESC LIMIT 1000`,
        [userId, socket.handshake.auth.cursor],
      );
      for (const row of rows.reverse()) socket.emit('notification', payload(row));
    } else if (FIRST_VISIT_READ) {
      // Scenario 8's third side: a first visit reads what an inbox shows, the newest page and the
      // unread count, in one statement per connection, as a hand-written server would.
      const { rows } = await pool.query(
        `SELECT (SELECT count(*) FROM ${PLAIN_TABLE} WHERE user_id = $1 AND read_at IS NULL) AS unread,
                (SELECT json_agg(p ORDER BY p.id) FROM (SELECT id, user_id, topic, type, title, body, data, created_at, read_at
                   FROM ${PLAIN_TABLE} WHERE user_id = $1 ORDER BY id DESC LIMIT 20) p) AS page`,
        [userId],
      );
      for (const row of rows[0].page ?? []) socket.emit('notification', payload(row));
      socket.emit('notifications:synced', { unread: Number(rows[0].unread), truncated: false });
      return;
    }
    socket.emit('notifications:synced', { unread: 0, truncated: false });
  });

  let id = 0;
  const payload = (row: any) => ({
    id: String(row.id),
    type: row.type,
    title: row.title,
    body: row.body,
    data: row.data,
    topic: row.topic ?? null,
    broadcast: false,
    createdAt: new Date(row.created_at ?? Date.now()).toISOString(),
    readAt: null,
  });
  const emit = (user: string, seq: number) => {
    nsp.to(`inbox:user:${user}`).emit('notification', payload({ id: ++id, type: 'comment', title: TITLE, body: BODY, data: data(seq) }));
  };
  // One emit per event-loop turn per caller, as concurrent requests would do: the sockets'
  // writes get flushed between turns.
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const persisted = persistThenEmit(pool, (user, row) => nsp.to(`inbox:user:${user}`).emit('notification', payload(row)));

  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as { port: number };

  // Event-loop delay and stalls, read (and reset) by the scenarios around their rounds.
  const loop = new EventLoopWatch();
  serve({
    eventLoop: () => loop.read(),
    info: () => ({ url: `http://127.0.0.1:${port}`, redisAdapter: REDIS_URL ? 'bare' : 'none' }),
    sockets: () => nsp.sockets.size,
    memory,
    rss,
    cpu,
    snapshot,
    latency: ({ users, count, rate }) => paced(users, count, rate, emit),
    throughput: ({ users, count, concurrency }) => burst(users, count, concurrency, (user, seq) => (emit(user, seq), turn())),
    throughputPersisted: ({ users, count, concurrency }) => burst(users, count, concurrency, persisted),
    broadcast: () => {
      const t0 = now();
      nsp.emit('notification', payload({ id: ++id, type: 'announcement', title: TITLE, body: BODY, data: { t0, seq: 0 } }));
      return { t0 };
    },
    // As the library server's: the client holds the first row (its cursor), the `count` after it are missed.
    seed: async ({ user, count }) => {
      const d = Array.from({ length: count + 1 }, (_, i) => JSON.stringify(data(i - 1)));
      const { rows } = await pool.query(
        `INSERT INTO ${PLAIN_TABLE} (user_id, type, title, body, data, tx_id, tx_horizon)
         SELECT $1, 'comment', $2, $3, d, 0, 0 FROM unnest($4::jsonb[]) WITH ORDINALITY AS t(d, ord) ORDER BY ord
         RETURNING id`,
        [user, TITLE, BODY, d],
      );
      return { cursor: String(Math.min(...rows.map((r: { id: string }) => Number(r.id)))) };
    },
    exit: async () => {
      io.close();
      await pool.end();
    },
  });
}

/**
 * The persist floor of a hand-written server (scenario 2's third side): each notification is
 * stored before it is emitted, as the library's contract says, in the cheapest way a site would
 * write it. Calls queue; a statement takes the whole queue (up to 1,000 rows) as one multi-row
 * INSERT into the plain table (our columns and indexes, no triggers, no checks of its own), two
 * statements in flight as the library's writer has; each row is emitted once its statement has
 * committed, and its call resolves then. No validation, no dedupe, no badge, no sequence per
 * stream: what is left is Postgres' part of storing the row and the client's part of sending it.
 */
function persistThenEmit(pool: Pool, emit: (user: string, row: Record<string, unknown>) => void) {
  type Queued = { user: string; data: ReturnType<typeof data>; done: () => void; fail: (err: unknown) => void };
  const queue: Queued[] = [];
  let inFlight = 0;
  const flush = () => {
    while (inFlight < 2 && queue.length > 0) {
      const batch = queue.splice(0, 1000);
      inFlight++;
      // One JSON parameter for the batch, as the library's writer sends (pg escapes array
      // parameters element by element). Postgres does not promise RETURNING's order: each row
      // carries its place in the batch back in `tx_id` (0 in every other row of the plain table).
      pool
        .query(
          `INSERT INTO ${PLAIN_TABLE} (user_id, type, title, body, data, tx_id, tx_horizon)
           SELECT e->>0, 'comment', $2, $3, e->1, ord - 1, 0 FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(e, ord)
           RETURNING id, tx_id`,
          [JSON.stringify(batch.map((q) => [q.user, q.data])), TITLE, BODY],
        )
        .then(({ rows }: { rows: { id: string; tx_id: string }[] }) => {
          const createdAt = Date.now();
          for (const row of rows) {
            const q = batch[Number(row.tx_id)];
            emit(q.user, { id: row.id, type: 'comment', title: TITLE, body: BODY, data: q.data, created_at: createdAt });
          }
          for (const q of batch) q.done();
        })
        .catch((err: unknown) => batch.forEach((q) => q.fail(err)))
        .finally(() => {
          inFlight--;
          flush();
        });
    }
  };
  return (user: string, seq: number) =>
    new Promise<void>((done, fail) => {
      // Stamped at the call, as the library's server stamps its `notify`.
      queue.push({ user, data: data(seq), done, fail });
      flush();
    });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
