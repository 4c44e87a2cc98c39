import { compareIds, MAX_HELD_IDS } from 'nestjs-inbox/client';
import { io, type Socket } from 'socket.io-client';
import { serve } from '../ipc';

/**
 * Extra, mostly idle sockets in a process of their own (the reconnect storm's 5,000, the soak's
 * churn). Each behaves like the bundled client left to socket.io-client's own reconnection:
 * it keeps the newest id it holds and sends it as `auth.cursor` on every (re)connect, and its
 * user's cursor is shared by the user's sockets, like `persistCursor` in one browser.
 * A refused handshake is retried by hand after a delay (socket.io-client does not).
 */
const ORIGIN = process.env.FAULT_ORIGIN!;
const SEND_HELD = process.env.FAULTS_CLIENT_HELD !== '0';

interface Tracked {
  socket: Socket;
  user: string;
  synced: boolean;
  held: Set<string>;
  newest?: string;
  closed: boolean;
}

interface OpenArgs {
  /** Each socket's user, session cookie and instance. */
  sockets: { user: string; cookie: string; url: string }[];
  /** Handshakes in flight at once while opening. */
  wave: number;
  reconnectionDelay: number;
  reconnectionDelayMax: number;
}

const all: Tracked[] = [];
const cursors = new Map<string, string>();
const stats = {
  received: 0,
  duplicates: 0,
  catchUpDuplicates: 0,
  syncs: 0,
  disconnects: 0,
  refusals: {} as Record<string, number>,
  catchUpErrors: 0,
};
let retryDelay = 500;

const newer = (a: string | undefined, b: string) => !a || compareIds(a, b) < 0;

function open(url: string, user: string, cookie: string, opts: Pick<OpenArgs, 'reconnectionDelay' | 'reconnectionDelayMax'>): Tracked {
  const t: Tracked = { user, synced: false, held: new Set(), closed: false } as Tracked;
  t.socket = io(`${url}/notifications`, {
    transports: ['websocket'],
    extraHeaders: { cookie, origin: ORIGIN },
    forceNew: true,
    reconnectionDelay: opts.reconnectionDelay,
    reconnectionDelayMax: opts.reconnectionDelayMax,
    // Read on every attempt: the user's newest id, as persisted by any of their tabs, and the
    // ids this tab holds just below it (the bundled client's `auth.held`).
    auth: (cb) => {
      const cursor = cursors.get(user);
      if (!cursor) return cb({});
      const held = [...t.held]
        .filter((id) => compareIds(id, cursor) < 0)
        .sort((a, b) => compareIds(b, a))
        .slice(0, MAX_HELD_IDS);
      cb(SEND_HELD ? { cursor, held } : { cursor });
    },
  });
  t.socket.on('notification', (n: { id: string }) => {
    stats.received++;
    if (t.held.has(n.id)) {
      stats.duplicates++;
      if (!t.synced) stats.catchUpDuplicates++;
      return;
    }
    t.held.add(n.id);
    if (newer(cursors.get(user), n.id)) cursors.set(user, n.id);
  });
  t.socket.on('notifications:synced', (p: { cursor?: string | null }) => {
    // Where the next catch-up resumes, as the bundled client keeps it.
    if (p?.cursor && newer(cursors.get(user), p.cursor)) cursors.set(user, p.cursor);
    t.synced = true;
    stats.syncs++;
  });
  t.socket.on('notifications:error', () => {
    // The catch-up failed: drop the transport so the manager reconnects, as the bundled client does.
    if (!t.synced) {
      stats.catchUpErrors++;
      t.socket.io.engine?.close();
    }
  });
  t.socket.on('disconnect', () => {
    t.synced = false;
    stats.disconnects++;
  });
  t.socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
    const code = err.data?.code ?? 'TRANSPORT';
    stats.refusals[code] = (stats.refusals[code] ?? 0) + 1;
    // A middleware refusal ends socket.io-client's reconnection for this socket: retry it.
    if (err.data?.code && !t.closed)
      setTimeout(() => !t.closed && !t.socket.active && t.socket.connect(), retryDelay * (0.5 + Math.random()));
  });
  all.push(t);
  return t;
}

function waitSynced(t: Tracked, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    if (t.synced) return resolve();
    const timer = setTimeout(() => reject(new Error(`socket of ${t.user} not synced within ${timeoutMs} ms`)), timeoutMs);
    t.socket.once('notifications:synced', () => (clearTimeout(timer), resolve()));
  });
}

let churner: NodeJS.Timeout | undefined;

serve({
  open: async (args: OpenArgs) => {
    retryDelay = Math.max(args.reconnectionDelay, 100);
    const opened: Tracked[] = [];
    for (let i = 0; i < args.sockets.length; i += args.wave) {
      const batch = args.sockets.slice(i, i + args.wave).map((s) => open(s.url, s.user, s.cookie, args));
      opened.push(...batch);
      await Promise.all(batch.map((t) => waitSynced(t, 60_000)));
    }
    return opened.length;
  },
  stats: () => {
    const open = all.filter((t) => !t.closed);
    return {
      ...stats,
      sockets: open.length,
      synced: open.filter((t) => t.synced).length,
      // The others: connected and waiting for their catch-up, reconnecting, or given up.
      syncing: open.filter((t) => !t.synced && t.socket.connected).length,
      reconnecting: open.filter((t) => !t.socket.connected && t.socket.active).length,
      inactive: open.filter((t) => !t.socket.connected && !t.socket.active).length,
    };
  },
  /**
   * Tabs opening and closing: every `everyMs`, `count` random open sockets close for good and as
   * many new ones open for random users of `sockets` (with their user's cursor).
   */
  churn: (args: OpenArgs & { count: number; everyMs: number }) => {
    clearInterval(churner);
    churner = setInterval(() => {
      const live = all.filter((t) => !t.closed);
      for (let i = 0; i < args.count && live.length > 0; i++) {
        const [t] = live.splice(Math.floor(Math.random() * live.length), 1);
        t.closed = true;
        t.socket.disconnect();
        all.splice(all.indexOf(t), 1);
        const s = args.sockets[Math.floor(Math.random() * args.sockets.length)];
        open(s.url, s.user, s.cookie, args);
      }
    }, args.everyMs);
    return null;
  },
  stopChurn: () => {
    clearInterval(churner);
    return null;
  },
  closeAll: () => {
    clearInterval(churner);
    for (const t of all) {
      t.closed = true;
      t.socket.disconnect();
    }
    all.length = 0;
    return null;
  },
  exit: () => null,
});
