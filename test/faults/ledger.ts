import { compareIds, MAX_HELD_IDS } from 'nestjs-inbox/client';
import { io, type Socket } from 'socket.io-client';
import type { CallRecord } from './stream';

/** What a ledger client keeps of a notification it received. */
interface Received {
  seq: number | undefined;
  topic: string | null;
  broadcast: boolean;
  createdAt: string;
}

interface Payload {
  id: string;
  topic: string | null;
  broadcast: boolean;
  createdAt: string;
  data?: { seq?: number };
}

/** After a truncated catch-up, pages go down to this far below the old cursor's time (past the grace window). */
const GAP_MARGIN_MS = 15_000;

export interface Backoff {
  /** First delay; doubled per failed attempt up to `maxMs`, with ±`jitter` (socket.io-client's algorithm). */
  minMs: number;
  maxMs: number;
  jitter: number;
}

type State = 'idle' | 'connecting' | 'syncing' | 'synced' | 'closed';

const newer = (a: string | undefined, b: string) => !a || a.length < b.length || (a.length === b.length && a < b);

/**
 * A user's tab that behaves like the bundled client (`nestjs-inbox/client`): it keeps the newest
 * id it holds, reconnects with it as `auth.cursor`, drops what it already holds by id and counts
 * those duplicates, and after a failed catch-up (`notifications:error`) drops the connection and
 * reconnects. Unlike the bundled client it does not page with `notifications:list` (that would
 * hide a lost push), and it also retries a refused handshake (the bundled client leaves that to
 * the app, which calls `connect()` again). Reconnecting works as behind a load balancer: the tab
 * tries its own instance first, and the next one after each failed attempt.
 */
export class LedgerClient {
  readonly received = new Map<string, Received>();
  /** Pushed notifications it already held, dropped. */
  duplicates = 0;
  /** Of those, the ones sent by a catch-up (between connect and `notifications:synced`). */
  catchUpDuplicates = 0;
  /** Catch-ups completed (`notifications:synced`); every one after the first is a reconnect. */
  syncs = 0;
  refusals: Record<string, number> = {};
  catchUpErrors = 0;
  truncated = 0;
  /** Notifications it got by paging after a truncated catch-up (not pushed). */
  paged = 0;
  /** Disconnects it did not ask for. */
  drops = 0;
  state: State = 'idle';
  cursor: string | undefined;
  url = '';
  /** What happened to the connection, with times: to explain a loss. */
  readonly history: string[] = [];
  /** When each id arrived (ms since epoch), to explain a loss. */
  readonly arrivedAt = new Map<string, number>();

  private socket?: Socket;
  private attempts = 0;
  private failures = 0;
  private timer?: NodeJS.Timeout;
  private readonly syncWaiters: (() => void)[] = [];

  constructor(
    readonly user: string,
    readonly tab: number,
    private readonly cookie: string,
    private readonly origin: string,
    private readonly urls: string[],
    private readonly home: number,
    private readonly backoff: Backoff,
    /** Send `auth.held` as the bundled client does (FAULTS_CLIENT_HELD=0 measures without it). */
    private readonly sendHeld = true,
  ) {}

  /** The newest ids held below `cursor`, at most MAX_HELD_IDS, newest first (the bundled client's `heldBelow`). */
  private heldBelow(cursor: string): string[] {
    return [...this.received.keys()]
      .filter((id) => compareIds(id, cursor) < 0)
      .sort((a, b) => compareIds(b, a))
      .slice(0, MAX_HELD_IDS);
  }

  get name(): string {
    return `${this.user}#${this.tab}`;
  }

  connect(): void {
    if (this.state === 'closed') return;
    clearTimeout(this.timer);
    this.state = 'connecting';
    const url = this.urls[(this.home + this.failures) % this.urls.length];
    this.url = url;
    const socket = io(`${url}/notifications`, {
      transports: ['websocket'],
      extraHeaders: { cookie: this.cookie, origin: this.origin },
      reconnection: false,
      forceNew: true,
      // socket.io-client's default connect timeout (20 s), as the bundled client has.
      query: { tab: this.name },
      // Read at every attempt, as the bundled client's auth function: the cursor, and the ids
      // held just below it, which the catch-up then does not resend.
      auth: (cb) => cb(this.cursor ? { cursor: this.cursor, ...(this.sendHeld ? { held: this.heldBelow(this.cursor) } : {}) } : {}),
    });
    this.socket = socket;
    this.note(`open ${url} cursor ${this.cursor}`);
    const current = () => this.socket === socket && this.state !== 'closed';
    const caughtUp: string[] = [];
    socket.on('connect', () => current() && ((this.state = 'syncing'), this.note('connect')));
    const floor = this.cursor;
    socket.on('notification', (n: Payload) => {
      if (!current()) return;
      if (this.state === 'syncing') caughtUp.push(n.id);
      if (!this.add(n)) {
        this.duplicates++;
        if (this.state === 'syncing') this.catchUpDuplicates++;
      }
    });
    socket.on('notifications:synced', (p: { truncated: boolean }) => {
      if (!current()) return;
      const span = caughtUp.length ? ` ids ${caughtUp[0]}..${caughtUp[caughtUp.length - 1]}` : '';
      this.note(`catch-up of ${caughtUp.length}${span}, cursor now ${this.cursor}${p.truncated ? ' (truncated)' : ''}`);
      const synced = () => {
        if (!current()) return;
        this.state = 'synced';
        this.syncs++;
        this.attempts = 0;
        this.failures = 0;
        this.syncWaiters.splice(0).forEach((wake) => wake());
      };
      if (!p.truncated) return synced();
      // More was missed than a catch-up sends: page down with notifications:list to what it held.
      this.truncated++;
      this.fillGap(socket, floor, caughtUp).then(synced, (err: Error) => {
        if (!current()) return;
        this.note(`paging after a truncated catch-up failed: ${err.message}`);
        socket.disconnect();
        this.retry();
      });
    });
    socket.on('notifications:error', () => {
      if (!current()) return;
      if (this.state === 'synced') return; // e.g. a session that ended; the server disconnects next
      this.catchUpErrors++;
      this.note('catch-up error');
      socket.disconnect();
      this.retry();
    });
    socket.on('disconnect', (reason) => {
      if (!current() || reason === 'io client disconnect') return;
      this.note(`disconnect: ${reason}`);
      this.drops++;
      this.retry();
    });
    socket.on('connect_error', (err: Error & { data?: { code?: string } }) => {
      if (!current()) return;
      const code = err.data?.code ?? 'TRANSPORT';
      this.refusals[code] = (this.refusals[code] ?? 0) + 1;
      this.note(`connect_error ${code}: ${err.message}${err.message === 'timeout' ? ` ${this.transportState(socket)}` : ''}`);
      this.failures++;
      socket.disconnect();
      this.retry();
    });
  }

  /** Keeps a notification it did not hold; false if it held it. */
  private add(n: Payload): boolean {
    if (this.received.has(n.id)) return false;
    this.received.set(n.id, { seq: n.data?.seq, topic: n.topic, broadcast: n.broadcast, createdAt: n.createdAt });
    this.arrivedAt.set(n.id, Date.now());
    if (newer(this.cursor, n.id)) this.cursor = n.id;
    return true;
  }

  /**
   * Pages (`notifications:list`, 100 at a time) from the oldest id of a truncated catch-up down
   * to the cursor it held before, and past it by the grace window (rows committed late).
   */
  private async fillGap(socket: Socket, floor: string | undefined, caughtUp: string[]): Promise<void> {
    if (!floor || caughtUp.length === 0) return;
    const floorAt = Date.parse(this.received.get(floor)?.createdAt ?? '') || 0;
    let before = caughtUp.reduce((a, b) => (compareIds(a, b) <= 0 ? a : b));
    for (let pages = 0; pages < 200; pages++) {
      const res = await socket.timeout(10_000).emitWithAck('notifications:list', { before, limit: 100 });
      if (res.error?.code === 'RATE_LIMITED') {
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      if (res.error) throw new Error(`${res.error.code}: ${res.error.message}`);
      for (const n of res.items as Payload[]) if (this.add(n)) this.paged++;
      const last: Payload | undefined = res.items[res.items.length - 1];
      if (!res.nextCursor || !last) return;
      if (compareIds(last.id, floor) < 0 && Date.parse(last.createdAt) < floorAt - GAP_MARGIN_MS) return;
      before = res.nextCursor;
    }
  }

  /** A network blip: the transport closes under the client, which reconnects on its own. */
  drop(): void {
    if (this.state === 'synced' || this.state === 'syncing') this.socket?.io.engine?.close();
  }

  close(): void {
    this.state = 'closed';
    clearTimeout(this.timer);
    this.socket?.disconnect();
  }

  whenSynced(timeoutMs: number): Promise<void> {
    if (this.state === 'synced') return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not synced within ${timeoutMs} ms (${this.describe()})`)), timeoutMs);
      this.syncWaiters.push(() => (clearTimeout(timer), resolve()));
    });
  }

  describe(): string {
    return `state ${this.state} on ${this.url}, refusals ${JSON.stringify(this.refusals)}, catch-up errors ${this.catchUpErrors}, truncated ${this.truncated}`;
  }

  /** Where a connection attempt that timed out got stuck (TCP connect, HTTP upgrade, engine open). */
  private transportState(socket: Socket): string {
    const engine: any = (socket.io as any).engine;
    const transport = engine?.transport;
    const ws = transport?.ws;
    const req = ws?._req;
    const tcp = req?.socket;
    return JSON.stringify({
      engine: engine?.readyState,
      transport: transport?.readyState,
      ws: ws?.readyState,
      upgradeSent: req
        ? {
            finished: req.finished,
            tcpConnecting: tcp?.connecting,
            localPort: tcp?.localPort,
            written: tcp?.bytesWritten,
            read: tcp?.bytesRead,
          }
        : 'no request',
    });
  }

  private note(what: string): void {
    this.history.push(`${new Date().toISOString().slice(11, 23)} ${what}`);
    if (this.history.length > 400) this.history.splice(0, 100);
  }

  private retry(): void {
    if (this.state === 'closed') return;
    this.state = 'connecting';
    clearTimeout(this.timer);
    const { minMs, maxMs, jitter } = this.backoff;
    const base = Math.min(maxMs, minMs * 2 ** this.attempts++);
    const delay = base * (1 + jitter * (2 * Math.random() - 1));
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

export interface Audit {
  lost: number;
  lostByClient: Record<string, string[]>;
  leaked: string[];
  /** Received, but from a call that rolled back or was never reported. */
  phantom: string[];
  /** Received, from a call that threw (its row was stored after all). */
  fromFailedCalls: number;
  wrongPayload: string[];
  expectedDeliveries: number;
}

/**
 * Per user: what they must receive (every committed call addressed to them: direct, broadcasts,
 * publications of topics they subscribed to before the stream), against what their tabs got.
 */
export class Ledger {
  readonly calls = new Map<number, CallRecord>();
  private readonly byId = new Map<string, { call: CallRecord; userId: string | null }>();
  /** Per user, the ids of committed calls addressed to them, in the order they were reported. */
  private readonly expected = new Map<string, string[]>();
  readonly clients: LedgerClient[] = [];
  /** Set by `caughtUp`: when every tab was connected again (caught up or not). */
  allSyncedMs: number | null = null;

  constructor(
    readonly users: string[],
    private readonly subscriptions: Map<string, Set<string>>,
  ) {
    for (const u of users) this.expected.set(u, []);
  }

  /** Outcomes reported by the worker. */
  record(calls: CallRecord[]): void {
    for (const call of calls) {
      this.calls.set(call.seq, call);
      for (const row of call.rows) this.byId.set(row.id, { call, userId: row.userId });
      if (call.outcome !== 'committed') continue;
      for (const row of call.rows) {
        if (call.kind === 'notify') this.expected.get(row.userId!)?.push(row.id);
        else
          for (const u of this.users)
            if (call.kind === 'broadcast' || this.subscriptions.get(u)?.has(call.topic!)) this.expected.get(u)!.push(row.id);
      }
    }
  }

  /** How many of each user's expected ids are known now, to wait for them later. */
  mark(): Map<string, number> {
    return new Map([...this.expected].map(([u, ids]) => [u, ids.length]));
  }

  /** Clients that are not caught up with `mark` (every expected id up to it, and synced). */
  behind(mark?: Map<string, number>): LedgerClient[] {
    return this.clients.filter((c) => {
      if (c.state !== 'synced') return true;
      const ids = this.expected.get(c.user)!;
      const n = mark?.get(c.user) ?? ids.length;
      for (let i = 0; i < n; i++) if (!c.received.has(ids[i])) return true;
      return false;
    });
  }

  /** Resolves with the time it took until every client is caught up with `mark`, or rejects at `timeoutMs`. */
  async caughtUp(mark: Map<string, number> | undefined, since: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    this.allSyncedMs = null;
    for (;;) {
      if (this.allSyncedMs === null && this.clients.every((c) => c.state === 'synced')) this.allSyncedMs = Date.now() - since;
      const behind = this.behind(mark);
      if (behind.length === 0) return Date.now() - since;
      if (Date.now() > deadline) {
        const detail = behind
          .slice(0, 5)
          .map((c) => `${c.name}: ${c.describe()}, missing ${this.missing(c, mark).length}`)
          .join('; ');
        console.log(this.diagnose(behind[0], mark));
        throw new Error(`${behind.length} clients not caught up within ${timeoutMs} ms: ${detail}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** The calls a client lacks and what its connection was doing when they committed. */
  diagnose(c: LedgerClient, mark?: Map<string, number>): string {
    const missing = this.missing(c, mark).map((id) => ({ id, call: this.byId.get(id)!.call }));
    if (!missing.length) return `${c.name}: nothing missing (${c.describe()})`;
    const at = (t: number) => new Date(t).toISOString().slice(11, 23);
    const first = Math.min(...missing.map((m) => m.call.settledAt));
    const last = Math.max(...missing.map((m) => m.call.settledAt));
    const window = c.history.filter((h) => {
      const t = Date.parse(`${new Date().toISOString().slice(0, 11)}${h.slice(0, 12)}Z`);
      return t >= first - 6000 && t <= last + 30_000;
    });
    return [
      `${c.name} lacks ${missing.length} ids committed between ${at(first)} and ${at(last)} (${c.describe()}):`,
      ...missing
        .slice(0, 8)
        .map(
          (m) =>
            `  ${m.id}: ${m.call.kind}${m.call.topic ? ` ${m.call.topic}` : ''} #${m.call.seq} issued ${at(m.call.issuedAt)} settled ${at(m.call.settledAt)}${m.call.held ? ' (held)' : ''}`,
        ),
      `  connection around then:`,
      ...window.slice(0, 60).map((h) => `    ${h}`),
    ].join('\n');
  }

  missing(c: LedgerClient, mark?: Map<string, number>): string[] {
    const ids = this.expected.get(c.user)!;
    return ids.slice(0, mark?.get(c.user) ?? ids.length).filter((id) => !c.received.has(id));
  }

  /** Lost, leaked and phantom notifications of every client. `storedSeq` maps ids of rows found in the database to their call. */
  audit(storedSeq: Map<string, number>): Audit {
    const out: Audit = { lost: 0, lostByClient: {}, leaked: [], phantom: [], fromFailedCalls: 0, wrongPayload: [], expectedDeliveries: 0 };
    for (const c of this.clients) {
      const missing = this.missing(c);
      out.expectedDeliveries += this.expected.get(c.user)!.length;
      if (missing.length) {
        out.lost += missing.length;
        out.lostByClient[c.name] = missing;
      }
      for (const [id, got] of c.received) {
        const known = this.byId.get(id);
        if (!known) {
          const seq = storedSeq.get(id);
          const call = seq === undefined ? undefined : this.calls.get(seq);
          if (call?.outcome === 'failed') out.fromFailedCalls++;
          else out.phantom.push(`${c.name} got ${id} (seq ${got.seq}): ${call ? call.outcome : 'no such call'}`);
          continue;
        }
        const { call, userId } = known;
        if (got.seq !== call.seq) out.wrongPayload.push(`${c.name} got ${id} with seq ${got.seq}, stored by call ${call.seq}`);
        if (call.outcome !== 'committed') {
          out.phantom.push(`${c.name} got ${id} of call ${call.seq}, which ${call.outcome === 'failed' ? 'threw' : 'rolled back'}`);
          continue;
        }
        const mine =
          call.kind === 'broadcast' ||
          (call.kind === 'notify' && userId === c.user) ||
          (call.kind === 'publish' && this.subscriptions.get(c.user)?.has(call.topic!));
        if (!mine) out.leaked.push(`${c.name} got ${id} (${call.kind} ${call.kind === 'notify' ? `to ${userId}` : call.topic})`);
      }
    }
    return out;
  }
}
