import { execSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NotificationsModuleOptions } from 'nestjs-inbox';
import { Client as PgClient } from 'pg';
import { migrate } from '../support/app';
import { createDatabase } from '../support/database';
import { setCookie } from '../support/http';
import { RedisServer, until } from '../support/processes';
import { Child } from './ipc';
import { type Audit, type Backoff, Ledger, LedgerClient } from './ledger';
import { OwnedPostgres } from './postgres';
import { type StreamSpec, type StreamSummary } from './stream';

/**
 * The fault suite's shared setup: two gateway instances and one producer-only worker, each a
 * process of its own (ts-node), on a test-owned Redis, authenticating with a real express-session
 * store (connect-pg-simple in the test database) shared by the instances; 50 users whose tabs
 * behave like the bundled client (see LedgerClient), spread over both instances, most of them
 * subscribed to topics; the worker calls notify/broadcast/publish at a steady rate and reports
 * each call's outcome into a per-user ledger. Each fault's test breaks something mid-stream and
 * then calls `finish`, which audits every user and prints the figures (also written to
 * test/artifacts/faults/<fault>.json).
 *
 * Run with `npm run test:faults` (one file: `INBOX_FAULTS=1 npx vitest run test/faults/soak.e2e-spec.ts`).
 * Environment:
 * - FAULTS_SEED: the stream's seed (printed by every run), to replay the same calls;
 * - FAULTS_SOAK_MS: the soak's length (default 60000; 600000 for the 10-minute soak);
 * - FAULTS_CLIENT_HELD=0: tabs do not send `auth.held`, to measure the resends without it;
 * - FAULTS_STORM_SESSION_TIMEOUT_MS: `sessionTimeoutMs` of the storm (default 30000, see there);
 * - FAULTS_VERBOSE=1: the processes' output; FAULTS_DIAG=1: pool queues, event loop and listen
 *   queues every 3 s while a fault settles; FAULTS_NODE_ARGS: Node flags for the gateway
 *   instances (e.g. '--cpu-prof --cpu-prof-dir=prof').
 */

export const ORIGIN = 'http://app.test';
const SECRET = 'fault-suite-session-secret';
export const TOPICS = ['t0', 't1', 't2', 't3'];
/** Tabs send `auth.held` like the bundled client; FAULTS_CLIENT_HELD=0 measures the resends without it. */
export const SEND_HELD = process.env.FAULTS_CLIENT_HELD !== '0';

export interface FaultOptions {
  fault: string;
  /** A Postgres of the test's own (initdb), for the test that restarts it. */
  ownPostgres?: boolean;
  /** Ledger users (default 50); the first `secondTabs` (default 10) have a second tab on the other instance. */
  users?: number;
  secondTabs?: number;
  /** Module options of the gateway instances (and worker), JSON-able. */
  options?: Partial<NotificationsModuleOptions>;
  /** The tabs' reconnection delays (default socket.io-client's, as the bundled client has: 1 s doubling to 5 s, ±50%). */
  backoff?: Backoff;
}

export interface Instance {
  name: string;
  child: Child;
  url: string;
}

/** What a fault's test prints and asserts. */
export interface FaultReport {
  fault: string;
  seed: number;
  wallMs: number;
  rate: number;
  calls: StreamSummary & { errors: Record<string, number>; failedButStored: number };
  audit: Omit<Audit, 'lostByClient'> & { lostByClient: Record<string, number> };
  /** Returned calls whose rows are not in the database, rows no call reported, rows of rolled-back calls. */
  storeAudit: { returnedNotStored: string[]; unreported: string[]; rolledBackStored: string[]; shortResults: string[] };
  duplicates: { total: number; inCatchUp: number; live: number; reconnects: number; perReconnect: number };
  /** ms from the fault's end until every tab held everything committed until then, and was connected. */
  caughtUpMs: number | null;
  /** ms from the stream's end until every tab held everything. */
  finalCatchUpMs: number;
  refusals: Record<string, number>;
  catchUpErrors: number;
  truncatedCatchUps: number;
  /** What tabs had to page for (notifications:list) after truncated catch-ups, rather than being pushed. */
  pagedAfterTruncation: number;
  extra: Record<string, unknown>;
  /** A few of the tabs' failed connection attempts, with where they got stuck. */
  connectErrorSamples: string[];
}

const DEFAULT_STREAM: Omit<StreamSpec, 'users' | 'topics' | 'seed'> = {
  rate: 100,
  mix: { notify: 70, publish: 20, broadcast: 10 },
  maxRecipients: 3,
};

/** User i subscribes to topic k when bit k of i % 16 is set: some to none, some to all four. */
export function topicsOf(i: number): string[] {
  return TOPICS.filter((_, k) => ((i % 16) >> k) & 1);
}

/** Waits out a fault's own duration (Redis down for 10 s, …); never used to hope something happened. */
export const hold = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function inBatches<T, R>(items: T[], size: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(...(await Promise.all(items.slice(i, i + size).map((item, j) => fn(item, i + j)))));
  }
  return out;
}

export class FaultCluster {
  readonly started = Date.now();
  readonly seed = Number(process.env.FAULTS_SEED ?? Date.now() % 1_000_000_007);
  instances: Instance[] = [];
  worker!: Child;
  load?: Child;
  redis!: RedisServer;
  pg?: OwnedPostgres;
  databaseUrl = '';
  ledger!: Ledger;
  private dropDatabase?: () => Promise<void>;
  private stream?: StreamSpec;
  private summary?: StreamSummary;
  private readonly children: Child[] = [];
  private readonly log = (msg: string) =>
    console.log(`[${this.options.fault} +${((Date.now() - this.started) / 1000).toFixed(1)}s] ${msg}`);

  private constructor(readonly options: FaultOptions) {}

  static async start(options: FaultOptions): Promise<FaultCluster> {
    const c = new FaultCluster(options);
    try {
      await c.boot();
      return c;
    } catch (err) {
      await c.close();
      throw err;
    }
  }

  get a(): Instance {
    return this.instances[0];
  }

  get b(): Instance {
    return this.instances[1];
  }

  private hostEnv(poolMax: number): Record<string, string> {
    return {
      FAULT_HOST: JSON.stringify({
        databaseUrl: this.databaseUrl,
        redisUrl: this.redis.url,
        origin: ORIGIN,
        secret: SECRET,
        options: this.options.options ?? {},
        poolMax,
      }),
    };
  }

  private spawn(name: string, entry: string, env: Record<string, string>): Child {
    // FAULTS_NODE_ARGS adds Node flags to the gateway instances, e.g. '--cpu-prof --cpu-prof-dir=prof'.
    const nodeArgs = entry === 'instance' ? (process.env.FAULTS_NODE_ARGS ?? '').split(' ').filter(Boolean) : [];
    const child = new Child(name, entry, env, nodeArgs);
    this.children.push(child);
    return child;
  }

  private async boot(): Promise<void> {
    const [, redis] = await Promise.all([this.database(), RedisServer.start()]);
    this.redis = redis;
    // The processes load their modules (most of their start-up) while the schema is migrated.
    const [a, b] = ['A', 'B'].map((name) => this.spawn(name, 'instance', this.hostEnv(10)));
    this.worker = this.spawn('worker', 'worker', this.hostEnv(20));
    await migrate(this.databaseUrl);
    await this.query(`CREATE TABLE IF NOT EXISTS "session" (
        "sid" varchar NOT NULL PRIMARY KEY, "sess" json NOT NULL, "expire" timestamp(6) NOT NULL)`);
    const [ia, ib] = await Promise.all([a, b].map((child) => child.call<{ url: string }>('info', {}, 120_000)));
    await this.worker.call('info', {}, 120_000);
    this.instances = [
      { name: 'A', child: a, url: ia.url },
      { name: 'B', child: b, url: ib.url },
    ];
    await until(
      'every process reached Redis',
      async () => {
        const up = await Promise.all([a, b, this.worker].map((c) => c.call<boolean>('redisUp')));
        return up.every(Boolean);
      },
      30_000,
    );
    this.log(`A, B and the worker are up (${this.databaseUrl.replace(/^.*@/, '')}, redis ${this.redis.port})`);

    const n = this.options.users ?? 50;
    const users = Array.from({ length: n }, (_, i) => `u${String(i).padStart(2, '0')}`);
    const subscriptions = new Map(users.map((u, i) => [u, new Set(topicsOf(i))]));
    // Subscriptions are made before the stream starts: a publication racing a subscription is
    // visible or not depending on the order of commits, which the ledger cannot know.
    const subs = users.flatMap((u, i) => topicsOf(i).map((topic) => ({ user: u, topic })));
    await inBatches(subs, 10, (s) => this.worker.call('subscribe', s));
    this.ledger = new Ledger(users, subscriptions);
    this.worker.on('calls', (calls) => this.ledger.record(calls));

    const cookies = await this.login(users);
    const backoff = this.options.backoff ?? { minMs: 1000, maxMs: 5000, jitter: 0.5 };
    const urls = this.instances.map((i) => i.url);
    const secondTabs = this.options.secondTabs ?? 10;
    users.forEach((u, i) => {
      this.ledger.clients.push(new LedgerClient(u, 1, cookies[i], ORIGIN, urls, i % 2, backoff, SEND_HELD));
      if (i < secondTabs) this.ledger.clients.push(new LedgerClient(u, 2, cookies[i], ORIGIN, urls, (i + 1) % 2, backoff, SEND_HELD));
    });
    for (const c of this.ledger.clients) c.connect();
    await Promise.all(this.ledger.clients.map((c) => c.whenSynced(30_000)));
    this.log(`${this.ledger.clients.length} tabs of ${n} users connected (${subs.length} topic subscriptions)`);
  }

  private async database(): Promise<void> {
    if (this.options.ownPostgres) {
      this.pg = await OwnedPostgres.start();
      const admin = new PgClient({ connectionString: this.pg.url() });
      await admin.connect();
      await admin.query('CREATE DATABASE inbox_faults');
      await admin.end();
      this.databaseUrl = this.pg.url('inbox_faults');
      return;
    }
    const db = await createDatabase();
    this.databaseUrl = db.url;
    this.dropDatabase = db.drop;
  }

  async query<T = any>(sql: string, params: unknown[] = []): Promise<T[]> {
    const client = new PgClient({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      return (await client.query(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  /** Signs users in through the site's login route (express-session), on both instances in turn. */
  async login(users: string[]): Promise<string[]> {
    return inBatches(users, 25, async (user, i) => {
      const res = await fetch(`${this.instances[i % 2].url}/login?user=${encodeURIComponent(user)}`);
      await res.text();
      if (res.status !== 200) throw new Error(`login of ${user}: ${res.status}`);
      return setCookie(res, 'connect.sid');
    });
  }

  /** Starts the worker's stream of calls to the ledger users and their topics. */
  async startStream(spec: Partial<Omit<StreamSpec, 'users' | 'topics' | 'seed'>> = {}): Promise<void> {
    this.stream = { ...DEFAULT_STREAM, ...spec, users: this.ledger.users, topics: TOPICS, seed: this.seed };
    await this.worker.call('start', this.stream);
    this.log(`stream started: ${this.stream.rate} calls/s, seed ${this.seed}`);
  }

  /** Processes that died without being told to, with their last output. */
  crashes(): string[] {
    return this.children.map((c) => c.crash).filter((c): c is string => c !== null);
  }

  /** Fails the test at once, with the dead process's output, if one crashed. */
  expectNoCrash(): void {
    expect(this.crashes(), 'a process of the cluster died on its own').toEqual([]);
  }

  /** The ledger's current expectations, once the worker has reported every call settled so far. */
  async mark(): Promise<Map<string, number>> {
    this.expectNoCrash();
    await this.worker.call('flush');
    return this.ledger.mark();
  }

  /** Stops the stream; waits (at most 30 s) for every call in flight to return or throw. */
  async stopStream(): Promise<StreamSummary> {
    this.summary = await this.worker.call<StreamSummary>('stop', { timeoutMs: 30_000 }, 40_000);
    this.log(`stream stopped: ${JSON.stringify({ ...this.summary, hung: this.summary.hung.length })}`);
    return this.summary;
  }

  /** Waits until `n` calls have been reported (the stream is running). */
  async streamed(n: number, timeoutMs = 30_000): Promise<void> {
    await until(`${n} calls reported`, () => this.ledger.calls.size >= n, timeoutMs);
  }

  /** Milliseconds until every tab is connected and holds what was committed before `mark`. */
  async caughtUp(mark: Map<string, number>, since: number, timeoutMs = 30_000): Promise<number> {
    const ms = await this.ledger.caughtUp(mark, since, timeoutMs);
    this.log(`every tab caught up ${ms} ms after the fault (all connected after ${this.ledger.allSyncedMs} ms)`);
    return ms;
  }

  /** Extra sockets in a process of their own: `users` signed-in users with `perUser` sockets each. */
  async startLoad(users: number, perUser: number, reconnection = { reconnectionDelay: 1000, reconnectionDelayMax: 5000 }) {
    const names = Array.from({ length: users }, (_, i) => `load${String(i).padStart(4, '0')}`);
    const cookies = await this.login(names);
    this.load = this.spawn('load', 'load', { FAULT_ORIGIN: ORIGIN });
    const sockets = names.flatMap((user, i) =>
      Array.from({ length: perUser }, (_, k) => ({ user, cookie: cookies[i], url: this.instances[(i + k) % 2].url })),
    );
    const t = Date.now();
    await this.load.call('open', { sockets, wave: 200, ...reconnection }, 240_000);
    this.log(`${sockets.length} load sockets of ${users} users connected in ${Date.now() - t} ms`);
    return { sockets, ...reconnection };
  }

  /**
   * Network blips on the tabs: every `everyMs`, `count` random connected tabs lose their
   * transport and reconnect with their cursor. Returns a function that stops it.
   */
  churnTabs(count: number, everyMs: number): () => void {
    const timer = setInterval(() => {
      const connected = this.ledger.clients.filter((c) => c.state === 'synced');
      for (let i = 0; i < count && connected.length; i++) connected.splice(Math.floor(Math.random() * connected.length), 1)[0].drop();
    }, everyMs);
    return () => clearInterval(timer);
  }

  /**
   * Watches the instances every 3 s while a fault settles: pool queues, event-loop stalls, and
   * (FAULTS_DIAG=1) a log line each time with `extra()` and the listen queues. `stop()` returns the peaks.
   */
  monitor(extra: () => unknown = () => undefined) {
    const peaks = this.instances.map((i) => ({
      instance: i.name,
      poolWaiting: 0,
      sessionStoreWaiting: 0,
      eventLoopMaxMs: 0,
      pendingHandshakes: 0,
    }));
    const started = Date.now();
    let busy = false;
    const timer = setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        const live = this.instances.filter((i) => i.child.alive);
        const [res, lag] = await Promise.all([
          Promise.all(live.map((i) => i.child.call('resources'))),
          Promise.all(live.map((i) => i.child.call('eventLoop'))),
        ]);
        live.forEach((inst, k) => {
          const p = peaks[this.instances.indexOf(inst)];
          p.poolWaiting = Math.max(p.poolWaiting, res[k].typeorm?.waiting ?? 0);
          p.sessionStoreWaiting = Math.max(p.sessionStoreWaiting, res[k].sessionStore?.waiting ?? 0);
          p.eventLoopMaxMs = Math.max(p.eventLoopMaxMs, lag[k].maxMs);
          // Engine.io connections whose Socket.IO handshake (session, connection cap) is not done.
          p.pendingHandshakes = Math.max(p.pendingHandshakes, res[k].engineClients - res[k].sockets);
        });
        if (process.env.FAULTS_DIAG) {
          const ports = live.map((i) => `:${new URL(i.url).port} `);
          const listen = execSync('ss -ltnH').toString().split('\n');
          const acceptQueue = ports.map((p) => listen.find((l) => l.includes(p))?.split(/\s+/)[1]);
          this.log(
            `+${Date.now() - started} ms ${JSON.stringify(extra())} ${JSON.stringify(res.map((r, k) => ({ ...r, lagMs: lag[k].maxMs, acceptQueue: acceptQueue[k] })))}`,
          );
        }
      } catch {
        // A process that is being killed does not answer; the next sample will tell.
      } finally {
        busy = false;
      }
    }, 3000);
    return {
      stop: () => {
        clearInterval(timer);
        return peaks;
      },
    };
  }

  /** Samples heap and RSS (after a full GC) of both instances. */
  memory(): Promise<{ rss: number; heapUsed: number }[]> {
    return Promise.all(this.instances.filter((i) => i.child.alive).map((i) => i.child.call('memory')));
  }

  /**
   * Ends the fault's run: stops the stream, waits until every tab holds everything committed,
   * audits every user against the ledger and the database, prints and saves the figures.
   */
  async finish(caughtUpMs: number | null, extra: Record<string, unknown> = {}): Promise<FaultReport> {
    this.expectNoCrash();
    const summary = this.summary ?? (await this.stopStream());
    const stopped = Date.now();
    let finalCatchUpMs = -1;
    let catchUpFailure: string | null = null;
    try {
      finalCatchUpMs = await this.ledger.caughtUp(undefined, stopped, 30_000);
    } catch (err) {
      catchUpFailure = (err as Error).message;
    }
    const stored: { id: string; user_id: string | null; topic: string | null; seq: number | null }[] = await this.query(
      `SELECT id::text, user_id, topic, (data->>'seq')::int AS seq FROM inbox_notification`,
    );
    const storedSeq = new Map(stored.filter((r) => r.seq !== null).map((r) => [r.id, r.seq as number]));
    const audit = this.ledger.audit(storedSeq);
    const storeAudit = this.storeAudit(stored);
    const calls = [...this.ledger.calls.values()];
    const errors: Record<string, number> = {};
    for (const call of calls)
      if (call.outcome === 'failed') errors[call.error ?? '(no error)'] = (errors[call.error ?? '(no error)'] ?? 0) + 1;
    const failedSeqs = new Set(calls.filter((c) => c.outcome === 'failed').map((c) => c.seq));
    const clients = this.ledger.clients;
    const sum = (f: (c: LedgerClient) => number) => clients.reduce((s, c) => s + f(c), 0);
    const reconnects = sum((c) => Math.max(0, c.syncs - 1));
    const duplicates = sum((c) => c.duplicates);
    const inCatchUp = sum((c) => c.catchUpDuplicates);
    const refusals: Record<string, number> = {};
    for (const c of clients) for (const [code, n] of Object.entries(c.refusals)) refusals[code] = (refusals[code] ?? 0) + n;
    const report: FaultReport = {
      fault: this.options.fault,
      seed: this.seed,
      wallMs: Date.now() - this.started,
      rate: this.stream?.rate ?? 0,
      calls: {
        ...summary,
        errors,
        failedButStored: new Set(stored.filter((r) => r.seq !== null && failedSeqs.has(r.seq)).map((r) => r.seq)).size,
      },
      audit: {
        ...audit,
        lostByClient: Object.fromEntries(Object.entries(audit.lostByClient).map(([k, v]) => [k, v.length])),
      },
      storeAudit,
      duplicates: {
        total: duplicates,
        inCatchUp,
        live: duplicates - inCatchUp,
        reconnects,
        perReconnect: reconnects ? Math.round((duplicates / reconnects) * 10) / 10 : 0,
      },
      caughtUpMs,
      finalCatchUpMs,
      refusals,
      catchUpErrors: sum((c) => c.catchUpErrors),
      truncatedCatchUps: sum((c) => c.truncated),
      pagedAfterTruncation: sum((c) => c.paged),
      extra: { ...extra, ...(catchUpFailure ? { catchUpFailure } : {}) },
      connectErrorSamples: clients
        .flatMap((c) => c.history.filter((h) => h.includes('connect_error')).map((h) => `${c.name} ${h}`))
        .slice(0, 8),
    };
    this.print(report, audit);
    return report;
  }

  private storeAudit(stored: { id: string; user_id: string | null; topic: string | null; seq: number | null }[]) {
    const byId = new Map(stored.map((r) => [r.id, r]));
    const reported = new Set(this.ledger.calls.keys());
    const out = {
      returnedNotStored: [] as string[],
      unreported: [] as string[],
      rolledBackStored: [] as string[],
      shortResults: [] as string[],
    };
    for (const call of this.ledger.calls.values()) {
      if (call.outcome === 'committed') {
        for (const row of call.rows) {
          const r = byId.get(row.id);
          if (!r || r.seq !== call.seq || r.user_id !== row.userId) out.returnedNotStored.push(`call ${call.seq} row ${row.id}`);
        }
        // No dedupe keys are used: one row per recipient, one for a broadcast or publication.
        const wanted = call.kind === 'notify' ? call.to!.length : 1;
        if (call.rows.length !== wanted)
          out.shortResults.push(`call ${call.seq} (${call.kind}) returned ${call.rows.length} of ${wanted} rows`);
      }
      if (call.outcome === 'rolled-back' && call.rows.some((row) => byId.has(row.id))) out.rolledBackStored.push(`call ${call.seq}`);
    }
    for (const r of stored) if (r.seq !== null && !reported.has(r.seq)) out.unreported.push(`row ${r.id} of call ${r.seq}`);
    return out;
  }

  private print(r: FaultReport, audit: Audit): void {
    const lines = [
      `── fault: ${r.fault} (seed ${r.seed}, ${r.rate} calls/s, ${(r.wallMs / 1000).toFixed(1)} s) ──`,
      `calls: ${r.calls.issued} issued, ${r.calls.committed} committed, ${r.calls.failed} failed (all reported to the caller as errors), ` +
        `${r.calls.rolledBack} rolled back, ${r.calls.hung.length} never settled; failed but stored: ${r.calls.failedButStored}`,
      ...Object.entries(r.calls.errors)
        .slice(0, 4)
        .map(([e, n]) => `   ${n}× ${e.slice(0, 160)}`),
      `deliveries: ${r.audit.expectedDeliveries} expected, lost ${r.audit.lost}, leaked ${r.audit.leaked.length}, ` +
        `phantom ${r.audit.phantom.length}, from failed-but-stored calls ${r.audit.fromFailedCalls}`,
      `duplicates dropped by clients: ${r.duplicates.total} (${r.duplicates.inCatchUp} in catch-ups, ${r.duplicates.live} live) ` +
        `over ${r.duplicates.reconnects} reconnects = ${r.duplicates.perReconnect} per reconnect`,
      `caught up: ${r.caughtUpMs ?? '-'} ms after the fault, ${r.finalCatchUpMs} ms after the stream stopped; ` +
        `refusals ${JSON.stringify(r.refusals)}, catch-up errors ${r.catchUpErrors}, truncated catch-ups ${r.truncatedCatchUps} (${r.pagedAfterTruncation} paged)`,
      // Long series (the soak's samples) go to the artifact only.
      `fault figures: ${JSON.stringify(r.extra, (k, v) => (k === 'series' ? undefined : v))}`,
      ...r.connectErrorSamples.slice(0, 4).map((e) => `  connect error: ${e}`),
    ];
    const problems = [
      ...Object.entries(audit.lostByClient)
        .slice(0, 5)
        .map(([c, ids]) => `lost by ${c}: ${ids.slice(0, 10).join(', ')}${ids.length > 10 ? ` … (${ids.length})` : ''}`),
      ...r.audit.leaked.slice(0, 5),
      ...r.audit.phantom.slice(0, 5),
      ...r.audit.wrongPayload.slice(0, 5),
      ...Object.values(r.storeAudit).flatMap((v) => v.slice(0, 5)),
    ];
    console.log([...lines, ...problems.map((p) => `  ! ${p}`)].join('\n'));
    const dir = join(__dirname, '..', 'artifacts', 'faults');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${r.fault}.json`), JSON.stringify(r, null, 2));
  }

  async close(): Promise<void> {
    for (const c of this.ledger?.clients ?? []) c.close();
    await Promise.all(this.children.map((c) => c.stop().catch(() => undefined)));
    await this.redis?.stop().catch(() => undefined);
    await this.dropDatabase?.().catch(() => undefined);
    await this.pg?.destroy().catch(() => undefined);
  }
}

/** The contract, per user: nothing lost, nothing leaked, nothing delivered that did not commit, no call silently dropped. */
export function expectClean(r: FaultReport): void {
  expect({
    lost: r.audit.lostByClient,
    leaked: r.audit.leaked,
    phantom: r.audit.phantom,
    wrongPayload: r.audit.wrongPayload,
    neverSettled: r.calls.hung,
    ...r.storeAudit,
    catchUpFailure: r.extra.catchUpFailure,
  }).toEqual({
    lost: {},
    leaked: [],
    phantom: [],
    wrongPayload: [],
    neverSettled: [],
    returnedNotStored: [],
    unreported: [],
    rolledBackStored: [],
    shortResults: [],
    catchUpFailure: undefined,
  });
  // Every call returned or threw: none vanished between the two.
  expect(r.calls.committed + r.calls.failed + r.calls.rolledBack).toBe(r.calls.issued);
  expect(Object.keys(r.calls.errors).every((e) => e !== '(no error)')).toBe(true);
}
