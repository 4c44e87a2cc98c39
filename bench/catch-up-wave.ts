/**
 * `npm run bench:catch-up-wave -- [sockets=100] [missed=1000] [waves=2]`: the event loop of one
 * instance while a reconnect wave catches up. `sockets` clients (a child process of their own, so
 * the server's loop is the server's) come back at once, each missing `missed` broadcasts; the
 * server's event-loop p99, max and longest stalls (with their CPU: a stall's CPU about its length
 * is one long synchronous batch) over each wave (bench/lib/event-loop.ts; docs/performance.md).
 */
import { execFile } from 'node:child_process';
import { loadavg } from 'node:os';
import { io } from 'socket.io-client';
import { migrate, ORIGIN, startApp } from '../test/support/app';
import { createDatabase } from '../test/support/database';
import { EventLoopWatch } from './lib/event-loop';

/** The child: opens the sockets at once with the cursor, prints how long until all are synced. */
function clients(url: string, n: number, cursor: string): void {
  let synced = 0;
  let frames = 0;
  const start = Date.now();
  for (let i = 0; i < n; i++) {
    const socket = io(`${url}/notifications`, {
      transports: ['websocket'],
      extraHeaders: { cookie: `uid=wave-${i}`, origin: ORIGIN },
      auth: { cursor },
      reconnection: false,
      forceNew: true,
    });
    socket.on('notification', () => frames++);
    socket.on('notifications:synced', () => {
      if (++synced < n) return;
      console.log(JSON.stringify({ frames, syncedMs: Date.now() - start }));
      process.exit(0);
    });
    socket.on('connect_error', (err) => {
      console.error(`connect_error: ${err.message}`);
      process.exit(1);
    });
  }
}

const wave = (url: string, n: number, cursor: string) =>
  new Promise<{ frames: number; syncedMs: number }>((resolve, reject) =>
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register', __filename, 'clients', url, String(n), cursor],
      (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(JSON.parse(stdout))),
    ),
  );

async function main(sockets: number, missed: number, waves: number): Promise<void> {
  const db = await createDatabase();
  await migrate(db.url);
  const t = await startApp(db.url);
  const watch = new EventLoopWatch();
  try {
    const [cursor] = await t.service.notify('wave-0', { type: 't', title: 'the cursor' });
    for (let i = 0; i < missed; i += 50)
      await Promise.all(
        Array.from({ length: Math.min(50, missed - i) }, (_, k) =>
          t.service.broadcast({ type: 'b', title: `missed ${i + k}`, body: 'x'.repeat(80) }),
        ),
      );
    for (let w = 0; w < waves; w++) {
      watch.read();
      const clientSide = await wave(t.url, sockets, cursor.id);
      const loop = watch.read();
      const stalls = loop.stalls.map((s) => `${s.ms} ms (CPU ${s.cpuMs} ms, GC ${s.gcMs} ms${s.gcKind ? ` ${s.gcKind}` : ''})`);
      console.log(
        `wave ${w + 1}: ${clientSide.frames} frames, all synced in ${clientSide.syncedMs} ms; event loop p99 ${loop.p99Ms} ms, max ${loop.maxMs} ms; ` +
          `longest stalls ${stalls.join(', ') || 'none'}; load ${loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}`,
      );
    }
  } finally {
    watch.stop();
    await t.close();
    await db.drop();
  }
}

const [mode, ...args] = process.argv.slice(2);
if (mode === 'clients') clients(args[0], Number(args[1]), args[2]);
else
  main(Number(mode ?? 100), Number(args[0] ?? 1000), Number(args[1] ?? 2)).then(
    () => process.exit(0),
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
