import { io, type Socket } from 'socket.io-client';
import { now } from '../lib/clock';
import { serve } from '../lib/ipc';

/**
 * Holds many socket.io-client connections (WebSocket transport, like a browser after the
 * upgrade) in a process of its own, and records when each notification arrives on the clock
 * all processes share, against the send time the server stamped into `data.t0`.
 */
const { ORIGIN } = process.env as Record<string, string>;

const sockets: Socket[] = [];
let latencies: number[] = [];
let received = 0;
let lastAt = 0;
/** Server events other than `notification` since the last reset (`notifications:unread`, …): frames the library adds. */
let otherEvents = 0;
let waiter: (() => void) | null = null;

function open(url: string, user: string, auth: object = {}): Socket {
  return io(`${url}/notifications`, {
    transports: ['websocket'],
    extraHeaders: { cookie: `uid=${user}`, origin: ORIGIN },
    // As the shipped client (InboxClient): a new notification may carry the badge instead of a `notifications:unread` after it.
    auth: { inlineBadge: true, ...auth },
    reconnection: false,
    forceNew: true,
  });
}

/** Resolves on `notifications:synced`, i.e. once connected, authenticated and caught up. */
function synced(socket: Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('notifications:synced', () => resolve());
    socket.once('connect_error', reject);
  });
}

function onNotification(n: { data?: { t0?: number } }) {
  const t = now();
  received++;
  lastAt = t;
  if (n?.data?.t0 !== undefined) latencies.push(t - n.data.t0);
  waiter?.();
}

serve({
  /** Opens one connection per user, `wave` handshakes at a time so the server is not stormed. */
  connect: async ({ url, users, wave = 100 }: { url: string; users: string[]; wave?: number }) => {
    for (let i = 0; i < users.length; i += wave) {
      const batch = users.slice(i, i + wave).map((user) => {
        const socket = open(url, user);
        sockets.push(socket);
        return synced(socket).then(() => {
          socket.on('notification', onNotification);
          socket.onAny((event: string) => {
            if (event !== 'notification') otherEvents++;
          });
        });
      });
      await Promise.all(batch);
    }
    return sockets.length;
  },
  reset: () => {
    latencies = [];
    received = 0;
    lastAt = 0;
    otherEvents = 0;
  },
  /** Resolves once `count` notifications arrived here since the last reset (or at the timeout). */
  wait: ({ count, timeoutMs }: { count: number; timeoutMs: number }) =>
    new Promise<void>((resolve) => {
      const done = () => {
        if (received < count) return;
        clearTimeout(timer);
        waiter = null;
        resolve();
      };
      const timer = setTimeout(() => ((waiter = null), resolve()), timeoutMs);
      waiter = done;
      done();
    }),
  stats: () => ({ received, lastAt, latencies, otherEvents }),
  /**
   * One user with missed notifications connects: time from opening the socket to
   * `notifications:synced`, and how many notifications came before it.
   */
  catchUp: ({ url, user, cursor }: { url: string; user: string; cursor: string }) =>
    new Promise((resolve, reject) => {
      const t0 = now();
      let count = 0;
      const socket = open(url, user, { cursor });
      socket.on('notification', () => count++);
      socket.once('connect_error', reject);
      socket.once('notifications:synced', () => {
        const ms = now() - t0;
        socket.disconnect();
        resolve({ ms, count });
      });
    }),
  disconnect: () => {
    for (const s of sockets) s.disconnect();
    sockets.length = 0;
  },
});
