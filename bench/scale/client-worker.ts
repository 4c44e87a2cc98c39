import { io, type Socket } from 'socket.io-client';
import { now } from '../lib/clock';
import { serve } from '../lib/ipc';

/**
 * The browsers of the scale bench: real socket.io-client connections (WebSocket transport, as
 * a browser after the upgrade), authenticated with the `uid` cookie the host's session source
 * reads. Everything is timed here, on the clock every process of the machine shares.
 */
const { ORIGIN } = process.env as Record<string, string>;

interface Held {
  id: string;
  broadcast: boolean;
  topic: string | null;
}

function open(url: string, user: string, auth: object, timeoutMs: number, retry: boolean): Socket {
  return io(`${url}/notifications`, {
    transports: ['websocket'],
    extraHeaders: { cookie: `uid=${user}`, origin: ORIGIN },
    auth,
    // In a storm, a handshake the server's TCP backlog drops is retried as socket.io-client
    // does by default (after ~1 s, then backing off); a single connection must succeed at once.
    reconnection: retry,
    forceNew: true,
    // socket.io-client gives up a handshake after 20 s by default; a storm may take longer.
    timeout: timeoutMs,
  });
}

interface Synced {
  ms: number;
  /** Notifications received before `notifications:synced`. */
  count: number;
  unread: number;
  truncated: boolean;
  /** The newest notification received (the top of the user's inbox), if any. */
  newest: Held | null;
}

/** Opens a socket and resolves once it is synced (or rejects on a refusal or a failed catch-up). */
function connectTimed(
  url: string,
  user: string,
  auth: object,
  timeoutMs: number,
  retry = false,
): Promise<{ socket: Socket; synced: Synced; start: number; end: number; retries: number }> {
  return new Promise((resolve, reject) => {
    const start = now();
    let count = 0;
    let newest: Held | null = null;
    let retries = 0;
    const socket = open(url, user, auth, timeoutMs, retry);
    const timer = setTimeout(() => fail(new Error(`${user}: not synced after ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.disconnect();
      reject(err);
    };
    socket.on('notification', (n: { id: string; broadcast: boolean; topic: string | null }) => {
      count++;
      if (!newest || BigInt(n.id) > BigInt(newest.id)) newest = { id: n.id, broadcast: n.broadcast, topic: n.topic };
    });
    socket.on('connect_error', (err: Error & { description?: any; data?: unknown }) => {
      // A transport error carries the underlying one (ECONNRESET, ...) in `description`; a
      // refusal by the server (with `data`) is never retried.
      const cause = err.description?.error?.code ?? err.description?.code ?? err.description?.message ?? err.description?.type ?? '';
      if (retry && err.data === undefined && socket.io.reconnection()) retries++;
      else fail(new Error(`${user}: connect_error ${err.message}${cause ? ` (${cause})` : ''}`));
    });
    socket.once('notifications:error', (e: { code: string; message: string }) => fail(new Error(`${user}: ${e.code} ${e.message}`)));
    socket.once('notifications:synced', ({ unread, truncated }: { unread: number; truncated: boolean }) => {
      clearTimeout(timer);
      const end = now();
      socket.removeAllListeners('notification');
      socket.off('connect_error');
      socket.off('notifications:error');
      // Once synced, a fleet socket stays as it is: a drop is not silently reconnected.
      socket.io.reconnection(false);
      resolve({ socket, synced: { ms: end - start, count, unread, truncated, newest }, start, end, retries });
    });
  });
}

/** Single-user operations: sockets kept open by user, one at a time. */
const pool = new Map<string, Socket>();

/** The fleet: many sockets, watched for broadcasts and unread counts. */
interface FleetSocket {
  socket: Socket;
  user: string;
  /** Expected unread count: the synced one, plus one per marker broadcast received since. */
  expected: number;
  got: Map<number, number>;
  /** `[time, count]` of every `notifications:unread`. */
  unreadEvents: [number, number][];
}
let fleet: FleetSocket[] = [];
/** The storm under way: how many of its sockets are synced, and how many failed, so far. */
let progress = { total: 0, synced: 0, failed: 0 };

serve({
  /** One user connects (with `cursor`, or without; in `scope`, or unscoped); with `keep` the socket stays for `emit`. */
  connect: async ({ url, user, cursor, scope, keep }: { url: string; user: string; cursor?: string; scope?: string; keep?: boolean }) => {
    const auth = { ...(cursor ? { cursor } : {}), ...(scope ? { scope } : {}) };
    const { socket, synced } = await connectTimed(url, user, auth, 120_000);
    if (keep) pool.set(user, socket);
    else socket.disconnect();
    return synced;
  },
  /** An event with acknowledgement on a kept socket: the round trip, and the ack. */
  emit: ({ user, event, payload }: { user: string; event: string; payload: unknown }) =>
    new Promise((resolve, reject) => {
      const socket = pool.get(user);
      if (!socket) return reject(new Error(`no socket for ${user}`));
      const t = now();
      socket.timeout(120_000).emit(event, payload, (err: Error | null, ack: any) => {
        const ms = now() - t;
        if (err) return reject(new Error(`${event} for ${user}: ${err.message}`));
        if (ack?.error) return reject(new Error(`${event} for ${user}: ${ack.error.code} ${ack.error.message}`));
        resolve({ ms, ack });
      });
    }),
  closePool: () => {
    for (const s of pool.values()) s.disconnect();
    pool.clear();
  },

  /**
   * All of `users` connect at once (one socket each, no waves); resolves when every one is
   * synced. The sockets join the fleet. Returns the first open and the last synced time.
   */
  storm: async ({ url, users, cursor }: { url: string; users: string[]; cursor?: string }) => {
    const start = now();
    progress = { total: users.length, synced: 0, failed: 0 };
    const results = await Promise.allSettled(
      users.map((u) =>
        connectTimed(url, u, cursor ? { cursor } : {}, 600_000, true).then(
          (r) => (progress.synced++, r),
          (err) => {
            progress.failed++;
            throw err;
          },
        ),
      ),
    );
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    let end = start;
    let notifications = 0;
    let retries = 0;
    for (const [i, r] of results.entries()) {
      if (r.status !== 'fulfilled') continue;
      end = Math.max(end, r.value.end);
      notifications += r.value.synced.count;
      retries += r.value.retries;
      const f: FleetSocket = { socket: r.value.socket, user: users[i], expected: r.value.synced.unread, got: new Map(), unreadEvents: [] };
      r.value.socket.on('notification', (n: { data?: { marker?: number } }) => {
        const marker = n?.data?.marker;
        if (marker === undefined || f.got.has(marker)) return;
        f.got.set(marker, now());
        f.expected++;
      });
      r.value.socket.on('notifications:unread', ({ count }: { count: number }) => f.unreadEvents.push([now(), count]));
      fleet.push(f);
    }
    return { start, end, notifications, retries, failed: failed.length, firstError: failed[0]?.reason?.message };
  },
  /**
   * After broadcast `marker` sent at `t0`: how many sockets have it and when the last got it;
   * how many have had a `notifications:unread` since, when the last did, and how many hold the
   * exact count (their synced count plus the marker broadcasts received since).
   */
  fleetStats: ({ marker, t0 }: { marker: number; t0: number }) => {
    let received = 0;
    let lastReceived = 0;
    let counted = 0;
    let lastCounted = 0;
    let exact = 0;
    for (const f of fleet) {
      const at = f.got.get(marker);
      if (at !== undefined) {
        received++;
        lastReceived = Math.max(lastReceived, at);
      }
      const first = f.unreadEvents.find(([t]) => t >= t0);
      if (first && at !== undefined) {
        counted++;
        lastCounted = Math.max(lastCounted, first[0]);
        const latest = f.unreadEvents[f.unreadEvents.length - 1][1];
        if (latest === f.expected) exact++;
      }
    }
    return { sockets: fleet.length, received, lastReceived, counted, lastCounted, exact };
  },
  stormProgress: () => progress,
  closeFleet: async () => {
    for (const f of fleet) f.socket.disconnect();
    fleet = [];
  },
});
