/**
 * `npm run bench:scale`: the per-user operations of the inbox at two sizes of history, S (~10k
 * notifications) and L (10M), through the library's public API only: a host app on one
 * instance (bench/scale/server.ts) and real socket.io-client connections (client-worker.ts).
 * Only seeding (bench/scale/seed.ts) knows the tables, so the bench keeps measuring the same
 * thing when the schema changes.
 *
 *   npm run bench:scale                  L then S, results in bench/scale/RESULTS.md, results.json, explain-*.txt
 *   npm run bench:scale -- --size S      S only (1-3 minutes), printed; written only with --out DIR
 *   npm run bench:scale -- --size L --out scale-L     (any directory)
 *
 * Options: `--size S|L|S,L`, `--out DIR`, `--seed N` (which random users; default 1),
 * `--minutes M` (time budget of the whole run, default 12: the slow operations at L are cut
 * short, and reported as censored (`>`), rather than run past it), `--wait-quiet N` (before each
 * size, wait up to N s for the machine's 1-minute load average to drop below its core count; not
 * counted in the budget: the numbers are only as quiet as the machine). Sizes: BENCH_SCALE_ROWS,
 * BENCH_SCALE_USERS, BENCH_SCALE_BROADCASTS, BENCH_SCALE_TOPICS, BENCH_SCALE_PUBLICATIONS
 * override L's (BENCH_SCALE_MEMBERS: its scoped members, by default 2,000 per 10M rows). Postgres: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
 * the run creates its own databases (`inbox_scale_*`) and drops them, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { sleep } from '../lib/clock';
import { admin, databaseUrl, migrate } from '../lib/database';
import { type Child, spawnChild } from '../lib/ipc';
import { summarize } from '../lib/stats';
import {
  BROADCAST_TYPE,
  DIRECT_TYPES,
  memberName,
  memberScope,
  SCOPES,
  type ScaleSize,
  scopedRows,
  seed,
  type SeedReport,
  SIZES,
  topicName,
  totalRows,
  userName,
} from './seed';
import type { CapturedQuery, Step } from './server';

// ───────────────────────────────────────────── options ──────────────────────────────────────────

const args = process.argv.slice(2);
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const sizeNames = (arg('size') ?? 'S,L').split(',').map((s) => s.trim().toUpperCase());
for (const s of sizeNames) if (s !== 'S' && s !== 'L') throw new Error(`--size: S, L or S,L, not ${s}`);
const bothSizes = sizeNames.includes('S') && sizeNames.includes('L');
const outDir = arg('out') ? resolve(arg('out')!) : bothSizes ? __dirname : null;
const randomSeed = Number(arg('seed') ?? 1);
const minutes = Number(arg('minutes') ?? 12);
/** `--wait-quiet N`: before each size, wait up to N s for the machine's load to drop (not counted in the budget). */
const waitQuiet = Number(arg('wait-quiet') ?? 0);

const envInt = (name: string) => (process.env[name] ? Number(process.env[name]!.replace(/_/g, '')) : undefined);
const L: ScaleSize = {
  ...SIZES.L,
  rows: envInt('BENCH_SCALE_ROWS') ?? SIZES.L.rows,
  users: envInt('BENCH_SCALE_USERS') ?? SIZES.L.users,
  broadcasts: envInt('BENCH_SCALE_BROADCASTS') ?? SIZES.L.broadcasts,
  topics: envInt('BENCH_SCALE_TOPICS') ?? SIZES.L.topics,
  publications: envInt('BENCH_SCALE_PUBLICATIONS') ?? SIZES.L.publications,
};
// The members' shape (1,100 direct rows each over 10 scopes) stays; a smaller L has fewer of them.
L.scoped = {
  ...SIZES.L.scoped,
  users: envInt('BENCH_SCALE_MEMBERS') ?? Math.max(200, Math.round((SIZES.L.scoped.users * L.rows) / SIZES.L.rows)),
};
const SIZE_OF: Record<string, ScaleSize> = { S: SIZES.S, L };

const ORIGIN = 'http://bench.test';

/**
 * How much each size may measure. An operation repeats on fresh random users until `maxReps`
 * or until it has used `opMs` (but at least `minReps` times). Storms and broadcasts have caps;
 * a cap reached is reported as a lower bound. `deadlineShare`: the part of what is left of the
 * run's budget this size may use (S goes first and takes little).
 */
interface Plan {
  maxReps: number;
  minReps: number;
  opMs: number;
  /** Storms of 500 and of 5,000. */
  stormReps: { 500: number; 5000: number };
  broadcastReps: number;
  stormCapMs: number;
  broadcastCapMs: number;
  /** The inbox-state operations (STATE_OPS): time share of each, and repetitions of the destructive ones. */
  stateOpMs: number;
  destructiveReps: number;
  /** The per-scope operations (SCOPE_OPS, scopeConnect): time share of each, and repetitions of the destructive ones. */
  scopeOpMs: number;
  scopeDestructiveReps: number;
}
/** The caps are for the default 12-minute budget and grow with --minutes. */
const stretch = Math.max(1, minutes / 12);
const PLANS: Record<string, Plan> = {
  // S's 2,000 users: the destructive state operations get 100 fresh users each, so that they never run out.
  S: {
    maxReps: 200,
    minReps: 20,
    opMs: 8_000,
    stormReps: { 500: 3, 5000: 1 },
    broadcastReps: 5,
    stormCapMs: 120_000 * stretch,
    broadcastCapMs: 30_000 * stretch,
    stateOpMs: 4_000,
    destructiveReps: 100,
    // S's 150 members: 5 destructive operations × 12, and the EXPLAINs' pairs.
    scopeOpMs: 3_000,
    scopeDestructiveReps: 12,
  },
  L: {
    maxReps: 200,
    minReps: 3,
    opMs: 15_000,
    stormReps: { 500: 1, 5000: 1 },
    broadcastReps: 3,
    stormCapMs: 180_000 * stretch,
    broadcastCapMs: 180_000 * stretch,
    stateOpMs: 8_000,
    destructiveReps: 200,
    scopeOpMs: 5_000,
    scopeDestructiveReps: 30,
  },
};
/** Reserved at the end of the run for the report and cleanup. */
const RESERVE_MS = 20_000;
/** What S needs of the budget at least (L runs first and leaves it this much). */
const S_RESERVE_MS = 120_000;

// ───────────────────────────────────────────── helpers ──────────────────────────────────────────

const started = Date.now();
let deadline = started + minutes * 60_000 - RESERVE_MS;
const left = () => deadline - Date.now();
const log = (msg: string) => console.log(`[scale ${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${msg}`);

/** Databases of runs that were killed more than an hour ago (the name carries its creation time). */
async function dropStale(): Promise<void> {
  const rows = await admin<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'inbox\\_scale\\_%'`);
  for (const { datname } of rows) {
    const m = /^inbox_scale_([0-9a-z]+)_[0-9a-f]+$/.exec(datname);
    if (m && Date.now() - parseInt(m[1], 36) > 3_600_000) await admin(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
  }
}

/** Everything to undo, newest first: processes to stop, databases to drop. Also run on SIGINT. */
const cleanups: (() => Promise<unknown>)[] = [];
async function cleanup(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}
process.on('uncaughtException', (err) => {
  console.error(err);
  void cleanup().finally(() => process.exit(1));
});

async function createDatabase(): Promise<{ name: string; url: string }> {
  const name = `inbox_scale_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  cleanups.push(() => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  await migrate(databaseUrl(name));
  return { name, url: databaseUrl(name) };
}

/** Deterministic random numbers (mulberry32), so a run with the same --seed picks the same users. */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Random users without replacement. `take(n)` deals fresh ones; `retire` keeps users an
 * operation changed (read state, new rows) out of later deals. When every user has been dealt
 * (S has 2,000), it reshuffles the unretired ones and counts the reuse.
 */
class Deck {
  private order: number[] = [];
  private retired = new Set<number>();
  reused = 0;
  constructor(
    private readonly users: number,
    private readonly random: () => number,
    /** User n's id (`user-<n>`, or `member-<n>` for the scoped members). */
    private readonly name: (n: number) => string = userName,
  ) {}
  take(n: number, retire = false): string[] {
    const out: string[] = [];
    while (out.length < n) {
      if (this.order.length === 0) {
        this.order = Array.from({ length: this.users }, (_, i) => i).filter((i) => !this.retired.has(i));
        if (this.order.length === 0)
          throw new Error(`all ${this.users} users were used by destructive operations: fewer repetitions, or more users`);
        for (let i = this.order.length - 1; i > 0; i--) {
          const j = Math.floor(this.random() * (i + 1));
          [this.order[i], this.order[j]] = [this.order[j], this.order[i]];
        }
        if (out.length > 0 || this.dealt > 0) this.reused++;
      }
      const u = this.order.pop()!;
      this.dealt++;
      if (retire) this.retired.add(u);
      out.push(this.name(u));
    }
    return out;
  }
  retire(users: string[]) {
    for (const u of users) this.retired.add(Number(u.slice(u.lastIndexOf('-') + 1)));
  }
  private dealt = 0;
}

// ───────────────────────────────────────────── results ──────────────────────────────────────────

interface OpResult {
  key: string;
  label: string;
  how: string;
  n: number;
  p50: number;
  p99: number;
  /** Set when the operation hit its cap: the values are lower bounds. */
  censored?: boolean;
  /** Not measured (over the budget); why. */
  skipped?: string;
  note?: string;
  /** Highest 1-minute load average seen while it ran. */
  load: number;
}

interface Explained {
  label: string;
  call: string;
  /** The statement's place among the call's (1, 2, …) and what it does (statementName). */
  index: number;
  statement: string;
  query: string;
  parameters: unknown[];
  plan: string;
  executionMs: number | null;
  /** 8 kB pages the statement touched (shared hit + read, at its top node): the work, whatever the machine's load. */
  pages: number | null;
}

interface SizeResult {
  size: ScaleSize;
  seed: SeedReport;
  db: {
    tables: { table: string; heap: number; indexes: number; toast: number; total: number }[];
    total: number;
    bytesPerMillion: number;
    indexBytesPerMillion: number;
  };
  ops: OpResult[];
  explain: Explained[];
  notes: string[];
  seconds: number;
}

const OPS: [string, string, string][] = [
  ['connect', 'one user connects, no cursor → `notifications:synced`', 'socket'],
  ['connectCursor', 'one user connects with a cursor (5 missed) → synced', 'socket'],
  ['list', '`notifications:list`, page of 20', 'socket ack'],
  ['listUnread', '`notifications:list`, page of 20, `unreadOnly`', 'socket ack'],
  ['listType', '`notifications:list`, page of 20, `type`', 'socket ack'],
  ['unreadCount', '`unreadCount(userId)`', 'service, in-process'],
  ['markRead', '`notifications:read` of one id', 'socket ack'],
  ['readAll', '`notifications:read-all`', 'socket ack'],
  ['subscribe', '`topics:subscribe`', 'socket ack'],
  ['listArchived', "`list`, archived view (`state: 'archived'`), page of 20", 'service, in-process'],
  ['listTypeTab', `\`list\`, type tab (\`type: '${BROADCAST_TYPE}'\`, broadcasts), page of 20`, 'service, in-process'],
  ['listTags', "`list`, `tags: ['billing']` (direct `order` rows only), page of 20", 'service, in-process'],
  ['listUnseen', "`list`, `state: 'unseen'`, page of 20", 'service, in-process'],
  ['counts', '`counts` of 6 tabs (all, unread, archived, 3 types)', 'service, in-process'],
  ['badge', '`badge` (unread + unseen)', 'service, in-process'],
  ['seenAll', '`markSeen({})` (the bell opens)', 'service, in-process'],
  ['seenIds', '`markSeen` of a page (first 20 ids of the inbox)', 'service, in-process'],
  ['archiveIds', '`archive` by ids (newest direct + newest shared)', 'service, in-process'],
  ['archiveAll', '`archive({})` (archive all)', 'service, in-process'],
  ['removeId', '`remove` by id (newest direct)', 'service, in-process'],
  ['removeAll', "`remove({ state: 'all' })` (delete all)", 'service, in-process'],
  ['archiveRead', "`archive({ state: 'read' })` (bulk archive of the read ones)", 'service, in-process'],
  ['mute', '`setPreferences` muting one type (`mention`)', 'service, in-process'],
  ['countsMuted', '`counts` of the 6 tabs right after muting `mention`', 'service, in-process'],
  ['scopeConnect', 'scope: a member connects with `auth: { scope }`, no cursor → synced', 'socket'],
  ['scopeList', 'scope: `list({ scope })`, page of 20', 'service, in-process'],
  ['scopeListUnread', 'scope: `list({ scope })`, page of 20, `unreadOnly`', 'service, in-process'],
  ['scopeListType', "scope: `list({ scope })`, page of 20, `type: 'mention'`", 'service, in-process'],
  ['scopeCounts', 'scope: `counts` of 6 tabs in the scope', 'service, in-process'],
  ['scopeBadge', 'scope: `badge({ scope })`', 'service, in-process'],
  ['scopeUnreadCount', 'scope: `unreadCount({ scope })`', 'service, in-process'],
  ['scopeSeenAll', 'scope: `markSeen({}, { scope })`', 'service, in-process'],
  ['scopeReadAll', 'scope: `markAllRead({ scope })` (read-all)', 'service, in-process'],
  ['scopeArchiveAll', 'scope: `archive({}, { scope })`', 'service, in-process'],
  ['scopeArchiveRead', "scope: `archive({ state: 'read' }, { scope })` (bulk archive by filter)", 'service, in-process'],
  ['scopeMute', 'scope: `setPreferences` muting `mention` in the scope', 'service, in-process'],
  ['scopeCountsMuted', 'scope: `counts` of the 6 tabs right after muting', 'service, in-process'],
  ['bareStorm500', 'reference: bare Socket.IO, 500 connect at once → all synced', 'sockets'],
  ['storm500', '500 users connect at once → all synced', 'sockets'],
  ['broadcast500', 'broadcast → all 500 online users have it', 'sockets'],
  ['unread500', 'broadcast → all 500 have their new unread count', 'sockets'],
  ['reconnect500', '500 users reconnect at once (cursor) → all synced', 'sockets'],
  ['bareStorm5000', 'reference: bare Socket.IO, 5,000 connect at once → all synced', 'sockets'],
  ['storm5000', '5,000 users connect at once → all synced', 'sockets'],
  ['broadcast5000', 'broadcast → all 5,000 online users have it', 'sockets'],
  ['unread5000', 'broadcast → all 5,000 have their new unread count', 'sockets'],
  ['reconnect5000', '5,000 users reconnect at once (cursor) → all synced', 'sockets'],
];
const opLabel = (key: string) => OPS.find(([k]) => k === key)!;

/** The tabs a client draws: all, unread, archived and one per type (a direct type, another, the broadcasts'). */
const TABS = {
  all: {},
  unread: { state: 'unread' },
  archived: { state: 'archived' },
  mention: { type: 'mention' },
  order: { type: 'order' },
  [BROADCAST_TYPE]: { type: BROADCAST_TYPE },
};

/**
 * The inbox-state operations (issue 13), as service calls in the host process on random users
 * nothing touched before; a destructive one takes each user once. Each step is timed (a step
 * with `ids` first finds them through `list`, untimed, as a client would have them). `explain`:
 * the label of its EXPLAIN; `pageIds`: its later statements take the ids its page read returns
 * (a filtered bulk change: a page of the filter, then a mark of those ids).
 */
interface StateOp {
  steps: (Step & { key: string })[];
  destructive?: boolean;
  explain: string;
  pageIds?: boolean;
}
const STATE_OPS: StateOp[] = [
  { explain: 'list, archived view', steps: [{ key: 'listArchived', call: 'list', arg: { limit: 20, filter: { state: 'archived' } } }] },
  {
    explain: `list, type tab '${BROADCAST_TYPE}'`,
    steps: [{ key: 'listTypeTab', call: 'list', arg: { limit: 20, filter: { type: BROADCAST_TYPE } } }],
  },
  { explain: "list, tags ['billing']", steps: [{ key: 'listTags', call: 'list', arg: { limit: 20, filter: { tags: ['billing'] } } }] },
  { explain: 'list, unseen', steps: [{ key: 'listUnseen', call: 'list', arg: { limit: 20, filter: { state: 'unseen' } } }] },
  { explain: 'counts of 6 tabs', steps: [{ key: 'counts', call: 'counts', arg: TABS }] },
  { explain: 'badge', steps: [{ key: 'badge', call: 'badge' }] },
  { explain: 'markSeen({}) (rolled back)', destructive: true, steps: [{ key: 'seenAll', call: 'markSeen', arg: {} }] },
  { explain: 'markSeen of a page (rolled back)', destructive: true, steps: [{ key: 'seenIds', call: 'markSeen', ids: { page: 20 } }] },
  {
    explain: 'archive by ids (rolled back)',
    destructive: true,
    steps: [{ key: 'archiveIds', call: 'archive', ids: { newest: ['direct', 'shared'], directTypes: DIRECT_TYPES } }],
  },
  { explain: 'archive({}) (rolled back)', destructive: true, steps: [{ key: 'archiveAll', call: 'archive', arg: {} }] },
  {
    explain: 'remove by id (rolled back)',
    destructive: true,
    steps: [{ key: 'removeId', call: 'remove', ids: { newest: ['direct'], directTypes: DIRECT_TYPES } }],
  },
  {
    explain: "remove({ state: 'all' }) (rolled back)",
    destructive: true,
    steps: [{ key: 'removeAll', call: 'remove', arg: { state: 'all' } }],
  },
  {
    explain: "archive({ state: 'read' }) (rolled back)",
    destructive: true,
    pageIds: true,
    steps: [{ key: 'archiveRead', call: 'archive', arg: { state: 'read' } }],
  },
  {
    explain: 'setPreferences muting a type, then counts (rolled back)',
    destructive: true,
    steps: [
      { key: 'mute', call: 'setPreferences', arg: { muted: { types: ['mention'] } } },
      { key: 'countsMuted', call: 'counts', arg: TABS },
    ],
  },
];
/**
 * The per-scope operations (issue 22), as STATE_OPS but on the scoped members (`member-<n>`), each
 * in one of their 10 scopes (`memberScope(n)`): at L a member has ~100 direct rows in that scope,
 * ~100 unscoped ones (which every scope shows) and ~900 in their 9 other scopes, which no
 * operation in this scope should read.
 */
const SCOPE_OPS: StateOp[] = [
  { explain: 'scope: list, page of 20', steps: [{ key: 'scopeList', call: 'list', arg: { limit: 20 } }] },
  {
    explain: 'scope: list, page of 20, unreadOnly',
    steps: [{ key: 'scopeListUnread', call: 'list', arg: { limit: 20, unreadOnly: true } }],
  },
  {
    explain: "scope: list, page of 20, type 'mention'",
    steps: [{ key: 'scopeListType', call: 'list', arg: { limit: 20, type: 'mention' } }],
  },
  { explain: 'scope: counts of 6 tabs', steps: [{ key: 'scopeCounts', call: 'counts', arg: TABS }] },
  { explain: 'scope: badge', steps: [{ key: 'scopeBadge', call: 'badge' }] },
  { explain: 'scope: unread count', steps: [{ key: 'scopeUnreadCount', call: 'unreadCount' }] },
  { explain: 'scope: markSeen({}) (rolled back)', destructive: true, steps: [{ key: 'scopeSeenAll', call: 'markSeen', arg: {} }] },
  { explain: 'scope: mark all read (rolled back)', destructive: true, steps: [{ key: 'scopeReadAll', call: 'markAllRead' }] },
  { explain: 'scope: archive({}) (rolled back)', destructive: true, steps: [{ key: 'scopeArchiveAll', call: 'archive', arg: {} }] },
  {
    explain: "scope: archive({ state: 'read' }) (rolled back)",
    destructive: true,
    pageIds: true,
    steps: [{ key: 'scopeArchiveRead', call: 'archive', arg: { state: 'read' } }],
  },
  {
    explain: 'scope: setPreferences muting a type, then counts (rolled back)',
    destructive: true,
    steps: [
      { key: 'scopeMute', call: 'setPreferences', arg: { muted: { types: ['mention'] } } },
      { key: 'scopeCountsMuted', call: 'counts', arg: TABS },
    ],
  },
];
/** The scope member `user` is measured in. */
const scopeOf = (user: string) => memberScope(Number(user.slice(user.lastIndexOf('-') + 1)));

const callText = (steps: Step[], scope?: string) =>
  steps
    .map(
      (s) =>
        `NotificationService.${s.call}(userId${s.ids ? `, ${'page' in s.ids ? `<first ${s.ids.page} ids of the inbox>` : `<ids: newest ${s.ids.newest.join(' + ')}>`}` : s.arg !== undefined ? `, ${JSON.stringify(s.arg)}` : ''}${scope ? `, { scope: '${scope}' }` : ''})`,
    )
    .join('; ');

function result(key: string, ms: number[], extra: Partial<OpResult> = {}): OpResult {
  const [, label, how] = opLabel(key);
  const s = summarize(ms);
  return { key, label, how, n: s.n, p50: s.p50, p99: s.p99, load: loadavg()[0], ...extra };
}

function skipped(key: string, why: string): OpResult {
  const [, label, how] = opLabel(key);
  return { key, label, how, n: 0, p50: NaN, p99: NaN, skipped: why, load: loadavg()[0] };
}

// ───────────────────────────────────────────── one size ─────────────────────────────────────────

interface Rig {
  databaseUrl: string;
  server: Child;
  url: string;
  clients: Child[];
}

/** The host app and two client processes (the fleet is split between them). */
async function startRig(databaseUrl: string): Promise<Rig> {
  const server = spawnChild('scale-server', 'scale/server', { DATABASE_URL: databaseUrl, ORIGIN });
  const clients = [0, 1].map((i) => spawnChild(`scale-clients-${i}`, 'scale/client-worker', { ORIGIN }));
  const rig = { databaseUrl, server, url: '', clients };
  const stop = () => stopRig(rig);
  cleanups.push(stop);
  rig.url = (await server.call('info', {}, 60_000)).url;
  return rig;
}

/** Stops each process once (a second stop would write to a closed IPC channel). */
const stopped = new WeakSet<Child>();
async function stopChild(child: Child): Promise<void> {
  if (stopped.has(child)) return;
  stopped.add(child);
  await child.stop().catch(() => undefined);
}

async function stopRig(rig: Rig): Promise<void> {
  await Promise.all(rig.clients.map(stopChild));
  await stopChild(rig.server);
}

/** Repeats `once(i)` (→ ms) within the plan's limits; stops early at the run's deadline. */
async function repeat(plan: Plan, count: number, once: (i: number) => Promise<number>, budgetMs = plan.opMs) {
  const ms: number[] = [];
  let load = loadavg()[0];
  const t0 = Date.now();
  for (let i = 0; i < Math.min(count, plan.maxReps); i++) {
    if (i >= plan.minReps && (Date.now() - t0 > budgetMs || left() < 0)) break;
    ms.push(await once(i));
    load = Math.max(load, loadavg()[0]);
  }
  return { ms, load };
}

async function runSize(size: ScaleSize, plan: Plan, sizeDeadline: number): Promise<SizeResult> {
  const t0 = Date.now();
  const notes: string[] = [];
  const leftHere = () => Math.min(left(), sizeDeadline - Date.now());
  log(
    `${size.name}: ${size.rows.toLocaleString('en')} notifications, ${size.users.toLocaleString('en')} users, ` +
      `${size.broadcasts.toLocaleString('en')} broadcasts, ${size.publications.toLocaleString('en')} publications over ${size.topics.toLocaleString('en')} topics; ` +
      `${scopedRows(size).toLocaleString('en')} scoped notifications of ${size.scoped.users.toLocaleString('en')} members`,
  );
  const db = await createDatabase();
  const seedReport = await seed(db.url, size, log);
  log(`${size.name}: seeded in ${seedReport.seconds.toFixed(1)} s`);
  const dbSize = await measureSize(db.url, size);
  log(
    `${size.name}: ${(dbSize.total / 2 ** 20).toFixed(0)} MiB, ${(dbSize.bytesPerMillion / 2 ** 20).toFixed(0)} MiB per million notifications`,
  );

  const deck = new Deck(size.users, prng(randomSeed * 1000 + size.rows));
  const rig = await startRig(db.url);
  const { server, url } = rig;
  const [client] = rig.clients;
  const ops: OpResult[] = [];
  const record = (r: OpResult) => {
    ops.push(r);
    const v = (x: number) => (Number.isFinite(x) ? `${x.toFixed(1)} ms` : '–');
    log(
      `  ${r.key}: ${r.skipped ? `skipped (${r.skipped})` : `p50 ${r.censored ? '> ' : ''}${v(r.p50)}, p99 ${r.censored ? '> ' : ''}${v(r.p99)}, n ${r.n}`}` +
        `${r.note ? ` (${r.note})` : ''}, load ${r.load.toFixed(1)}`,
    );
  };

  // Warm-up, not recorded: the server's first handshakes, queries and pool connections.
  for (const u of deck.take(3, true)) {
    await client.call('connect', { url, user: u, keep: true });
    await client.call('emit', { user: u, event: 'notifications:list', payload: { limit: 20 } });
  }
  await client.call('closePool');

  // 1. One user connects (no cursor). The sockets stay open: the next operations use them.
  const pool: { user: string; newest: { id: string; broadcast: boolean; topic: string | null } | null }[] = [];
  {
    const sent: number[] = [];
    let truncated = 0;
    const users = deck.take(plan.maxReps, true);
    const { ms, load } = await repeat(plan, users.length, async (i) => {
      const s = await client.call('connect', { url, user: users[i], keep: true });
      pool.push({ user: users[i], newest: s.newest });
      sent.push(s.count);
      if (s.truncated) truncated++;
      return s.ms;
    });
    record(
      result('connect', ms, {
        load,
        note: `${summarize(sent).p50} notifications sent before synced (p50)${truncated ? `, truncated for ${truncated} of ${ms.length}` : ''}`,
      }),
    );
  }

  // 2. With a cursor: the user held their newest notification, then 5 more came while away.
  {
    const users = deck.take(plan.maxReps, true);
    const sent: number[] = [];
    const { ms, load } = await repeat(plan, users.length, async (i) => {
      const ids: string[] = await server.call('notify', { user: users[i], count: 6 });
      const s = await client.call('connect', { url, user: users[i], cursor: ids[0] });
      if (s.count < 5) throw new Error(`${users[i]}: caught up ${s.count} of 5`);
      sent.push(s.count);
      return s.ms;
    });
    record(result('connectCursor', ms, { load, note: `${summarize(sent).p50} notifications sent (p50)` }));
  }

  // 3. Pages of the inbox, on the connected users' sockets (each user once per kind).
  const emitOnPool = async (key: string, event: string, payload: (p: (typeof pool)[number]) => unknown, note?: string) => {
    const { ms, load } = await repeat(plan, pool.length, async (i) => {
      const r = await client.call('emit', { user: pool[i].user, event, payload: payload(pool[i]) });
      return r.ms;
    });
    record(result(key, ms, { load, note }));
  };
  await emitOnPool('list', 'notifications:list', () => ({ limit: 20 }));
  await emitOnPool('listUnread', 'notifications:list', () => ({ limit: 20, unreadOnly: true }));
  await emitOnPool(
    'listType',
    'notifications:list',
    () => ({ limit: 20, type: 'mention' }),
    "type 'mention': a fifth of the direct rows, no shared row",
  );

  // 4. The unread count, as a host service asks it.
  {
    const users = deck.take(plan.maxReps);
    const { ms, load } = await repeat(
      plan,
      users.length,
      async (i) => (await server.call('time', { call: 'unreadCount', users: [users[i]] })).ms[0],
    );
    record(result('unreadCount', ms, { load }));
  }

  // 5. Subscribe to another topic; then mark the newest notification read; then mark all read.
  await emitOnPool('subscribe', 'topics:subscribe', (p) => ({
    topic: topicName(((Number(p.user.slice(5)) + 1 + size.topics / 2) % size.topics) | 0),
  }));
  const newestKinds = pool.slice(0, 5).map((p) => (p.newest?.broadcast ? 'broadcast' : p.newest?.topic ? 'publication' : 'direct'));
  await emitOnPool(
    'markRead',
    'notifications:read',
    (p) => ({ ids: [p.newest!.id] }),
    `the newest one the user holds (a ${newestKinds[0]})`,
  );
  await emitOnPool('readAll', 'notifications:read-all', () => ({}), 'each user once (it is destructive)');
  await client.call('closePool');

  // 5b. The inbox-state operations, in the host process (the reads first, then the destructive ones on fresh users).
  for (const op of STATE_OPS) {
    const users = deck.take(op.destructive ? plan.destructiveReps : plan.maxReps, op.destructive);
    const perStep: number[][] = op.steps.map(() => []);
    const { load } = await repeat(
      plan,
      users.length,
      async (i) => {
        const { ms } = await server.call('timeSteps', { users: [users[i]], steps: op.steps });
        ms[0].forEach((m: number, j: number) => perStep[j].push(m));
        return ms[0].reduce((a: number, b: number) => a + b, 0);
      },
      plan.stateOpMs,
    );
    op.steps.forEach((step, j) => record(result(step.key, perStep[j], { load, note: op.destructive ? 'each user once' : undefined })));
  }

  // 5c. The per-scope operations: members, each in one of their scopes (the socket's `auth.scope`, the calls' `{ scope }`).
  const members = new Deck(size.scoped.users, prng(randomSeed * 1000 + size.rows + 1), memberName);
  {
    const users = members.take(Math.min(plan.maxReps, size.scoped.users / 2));
    const { ms, load } = await repeat(
      plan,
      users.length,
      async (i) => (await client.call('connect', { url, user: users[i], scope: scopeOf(users[i]) })).ms,
      plan.scopeOpMs,
    );
    record(result('scopeConnect', ms, { load, note: `in one of the member's ${SCOPES} scopes` }));
  }
  for (const op of SCOPE_OPS) {
    const users = op.destructive
      ? members.take(plan.scopeDestructiveReps, true)
      : members.take(Math.min(plan.maxReps, size.scoped.users / 2));
    const perStep: number[][] = op.steps.map(() => []);
    const { load } = await repeat(
      plan,
      users.length,
      async (i) => {
        const { ms } = await server.call('timeSteps', { users: [users[i]], steps: op.steps, scope: scopeOf(users[i]) });
        ms[0].forEach((m: number, j: number) => perStep[j].push(m));
        return ms[0].reduce((a: number, b: number) => a + b, 0);
      },
      plan.scopeOpMs,
    );
    op.steps.forEach((step, j) => record(result(step.key, perStep[j], { load, note: op.destructive ? 'each member once' : undefined })));
  }

  // 6. EXPLAIN of the statements the library ran for these calls, on fresh users.
  const explain = await explainAll(db.url, server, client, url, deck, members);
  log(`  explained ${explain.length} statements`);

  // 7. Storms and broadcasts: 500, then 5,000 if what 500 took says it fits in the budget.
  const phase = async (n: 500 | 5000) => {
    record(await bareStorm(rig, n, plan.stormReps[n]));
    return stormsAndBroadcasts(rig, n, plan, deck, leftHere, record, size.users < n);
  };
  const five = await phase(500);
  const estimate = five.stormMs === null ? Infinity : five.estimate5000;
  if (estimate < leftHere()) {
    await phase(5000);
  } else {
    const why =
      five.stormMs === null
        ? 'the 500-user storm hit its cap'
        : `estimated ${Math.round(estimate / 1000)} s from the 500 run, ${Math.max(0, Math.round(leftHere() / 1000))} s left in the budget`;
    for (const k of ['bareStorm', 'storm', 'broadcast', 'unread', 'reconnect']) record(skipped(`${k}5000`, why));
  }

  if (deck.reused)
    notes.push(
      `${size.name}: ${size.users.toLocaleString('en')} users were not enough for fresh users everywhere; the storms reused users (several sockets per user).`,
    );
  await stopRig(rig);
  return { size, seed: seedReport, db: dbSize, ops, explain, notes, seconds: (Date.now() - t0) / 1000 };
}

/**
 * `n` users connect at once (first visit: no cursor), then broadcasts reach them (time until all
 * have it, and until all have their new unread count), then they all reconnect at once with the
 * last broadcast's id as their cursor (as after a deploy). Repeated storms use fresh users; the
 * last storm's stay online for the broadcasts. Returns the storm's p50 (null if it hit its cap)
 * and how long the same phase would take with 5,000 users if everything took 10× as long.
 */
async function stormsAndBroadcasts(
  rig: Rig,
  n: 500 | 5000,
  plan: Plan,
  deck: Deck,
  leftHere: () => number,
  record: (r: OpResult) => void,
  reuse: boolean,
): Promise<{ stormMs: number | null; estimate5000: number }> {
  let pauses = 0;
  const pause = async (ms: number) => {
    pauses += ms;
    await sleep(ms);
  };
  const closeFleet = () => Promise.all(rig.clients.map((c) => c.call('closeFleet')));
  const storm = (users: string[], cursor: string | undefined, capMs: number) => stormOn(rig.clients, rig.url, users, cursor, capMs);
  const stormCap = () => Math.max(10_000, Math.min(plan.stormCapMs, leftHere()));

  // Storms: every user's first visit.
  let users: string[] = [];
  const stormMs: number[] = [];
  let perUser = 0;
  let retries = 0;
  let load = loadavg()[0];
  for (let rep = 0; rep < plan.stormReps[n]; rep++) {
    if (rep > 0 && stormMs[0] * 3 > leftHere()) break;
    if (rep > 0) await closeFleet();
    users = deck.take(n);
    const cap = stormCap();
    const s = await storm(users, undefined, cap);
    load = Math.max(load, loadavg()[0]);
    if (s.cut) {
      record(
        result(`storm${n}`, [cap], {
          censored: true,
          load,
          note: `cap reached: ${s.synced} of ${n} synced after ${Math.round(cap / 1000)} s`,
        }),
      );
      for (const k of ['broadcast', 'unread', 'reconnect']) record(skipped(`${k}${n}`, 'the storm before it hit its cap'));
      await restartServer(rig);
      return { stormMs: null, estimate5000: Infinity };
    }
    stormMs.push(s.ms);
    perUser = s.perUser;
    retries += s.retries;
  }
  record(
    result(`storm${n}`, stormMs, {
      load,
      note: `${Math.round(perUser)} notifications per user before synced${reuse ? '; users reused' : ''}${retried(retries)}`,
    }),
  );

  // Broadcasts to the fleet.
  const have: number[] = [];
  const counted: number[] = [];
  let inexact = 0;
  let lastId = '';
  let censored = false;
  load = loadavg()[0];
  for (let rep = 0; rep < plan.broadcastReps; rep++) {
    if (rep > 0 && Math.max(...counted) * 1.5 + stormMs[0] > leftHere()) break;
    // The last one comes more than the catch-up grace (5 s) after the others, so the reconnect
    // below, whose cursor it is, is a clean "nothing missed" one.
    if (rep > 0 && rep === plan.broadcastReps - 1) await pause(5_500);
    const marker = Date.now() * 10 + rep;
    const { t0: sentAt, id } = await rig.server.call('broadcast', { marker });
    lastId = id;
    const cap = Math.max(5_000, Math.min(plan.broadcastCapMs, leftHere() - 10_000));
    for (;;) {
      const stats = await Promise.all(rig.clients.map((c) => c.call('fleetStats', { marker, t0: sentAt })));
      const sum = (k: string) => stats.reduce((s: number, x: any) => s + x[k], 0);
      const late = performance.timeOrigin + performance.now() - sentAt > cap;
      if ((sum('received') === n && sum('counted') === n) || late) {
        if (sum('received') < n) throw new Error(`broadcast reached ${sum('received')} of ${n} within ${cap} ms`);
        have.push(Math.max(...stats.map((x: any) => x.lastReceived)) - sentAt);
        if (sum('counted') < n) {
          counted.push(cap);
          censored = true;
        } else {
          counted.push(Math.max(...stats.map((x: any) => x.lastCounted)) - sentAt);
          inexact += n - sum('exact');
        }
        break;
      }
      await sleep(20);
    }
    load = Math.max(load, loadavg()[0]);
    if (censored) break;
    await pause(300);
  }
  record(result(`broadcast${n}`, have, { load }));
  record(
    result(`unread${n}`, counted, {
      load,
      censored,
      note: censored
        ? `cap reached: not every user had a new count ${Math.round(counted[counted.length - 1] / 1000)} s after the broadcast`
        : inexact
          ? `${inexact} counts off`
          : 'every count exact',
    }),
  );

  // Everyone reconnects at once holding the last broadcast's id, as after a deploy. After a cut
  // recount the server is restarted first (its recount would still be running).
  if (censored) await restartServer(rig);
  else {
    await pause(500);
    await closeFleet();
    await pause(500);
  }
  if (stormMs[0] * 1.2 > leftHere()) {
    record(
      skipped(
        `reconnect${n}`,
        `would take about ${Math.round(stormMs[0] / 1000)} s, ${Math.max(0, Math.round(leftHere() / 1000))} s left in the budget`,
      ),
    );
  } else {
    const cap = stormCap();
    load = loadavg()[0];
    const r = await storm(users, lastId, cap);
    load = Math.max(load, loadavg()[0]);
    if (r.cut) {
      record(
        result(`reconnect${n}`, [cap], {
          censored: true,
          load,
          note: `cap reached: ${r.synced} of ${n} synced after ${Math.round(cap / 1000)} s`,
        }),
      );
      await restartServer(rig);
    } else {
      record(
        result(`reconnect${n}`, [r.ms], {
          load,
          note: `${r.perUser.toFixed(1)} notifications per user before synced${retried(r.retries)}`,
        }),
      );
      await closeFleet();
    }
  }
  const p50 = summarize(stormMs).p50;
  const work = p50 * (plan.stormReps[5000] + 1) + counted.reduce((a, b) => a + b, 0);
  return { stormMs: p50, estimate5000: 10 * work + pauses };
}

/** Handshakes reset by the server (its TCP backlog overflowing) and retried by the client. */
const retried = (n: number) => (n ? `; ${n} handshakes reset and retried` : '');

/** All of `users` at once, split over the client processes; null if not all synced within `capMs`. */
async function stormOn(clients: Child[], url: string, users: string[], cursor: string | undefined, capMs: number) {
  const share = Math.ceil(users.length / clients.length);
  const run = Promise.all(
    clients.map((c, i) => c.call('storm', { url, users: users.slice(i * share, (i + 1) * share), cursor }, 3_600_000)),
  );
  run.catch(() => undefined); // once cut at the cap, the clients are stopped under it
  const results = await Promise.race([run, sleep(capMs).then(() => null)]);
  if (!results) {
    const p = await Promise.all(clients.map((c) => c.call('stormProgress')));
    const synced = p.reduce((s, x) => s + x.synced, 0);
    const failed = p.reduce((s, x) => s + x.failed, 0);
    log(`  storm of ${users.length} cut at ${Math.round(capMs / 1000)} s: ${synced} synced, ${failed} failed`);
    return { cut: true as const, synced, failed };
  }
  const failed = results.reduce((s, r) => s + r.failed, 0);
  if (failed) throw new Error(`storm of ${users.length}: ${failed} failed (${results.find((r) => r.firstError)?.firstError})`);
  return {
    cut: false as const,
    ms: Math.max(...results.map((r) => r.end)) - Math.min(...results.map((r) => r.start)),
    perUser: results.reduce((s, r) => s + r.notifications, 0) / users.length,
    retries: results.reduce((s, r) => s + r.retries, 0),
  };
}

/**
 * The reference for the storms: `npm run bench`'s bare Socket.IO server (bench/servers/bare-server.ts:
 * same namespace, cookie and Origin check, user room, no database), with the same clients. It
 * does not depend on the size: next to the library's storms it shows what the machine (and
 * Socket.IO) take by themselves at that moment.
 */
async function bareStorm(rig: Rig, n: 500 | 5000, reps: number): Promise<OpResult> {
  const bare = spawnChild('bare-server', 'servers/bare-server', { DATABASE_URL: rig.databaseUrl, ORIGIN });
  cleanups.push(() => stopChild(bare));
  try {
    const { url } = await bare.call('info', {}, 60_000);
    const ms: number[] = [];
    let load = loadavg()[0];
    let retries = 0;
    for (let rep = 0; rep < reps; rep++) {
      const s = await stormOn(
        rig.clients,
        url,
        Array.from({ length: n }, (_, i) => `bare-${rep}-${i}`),
        undefined,
        120_000,
      );
      await Promise.all(rig.clients.map((c) => c.call('closeFleet')));
      load = Math.max(load, loadavg()[0]);
      if (s.cut) return result(`bareStorm${n}`, [120_000], { censored: true, load, note: `${s.synced} of ${n} synced` });
      ms.push(s.ms);
      retries += s.retries;
    }
    return result(`bareStorm${n}`, ms, {
      load,
      note: `bench/servers/bare-server.ts: same cookie check, no database, no catch-up${retried(retries)}`,
    });
  } finally {
    await stopChild(bare);
  }
}

/** After a cap: a new server and clients, and none of the old one's queries left running. */
async function restartServer(rig: Rig): Promise<void> {
  await stopRig(rig);
  // Statements of the old server's pool may still run: end them (this run's database only).
  const name = new URL(rig.databaseUrl).pathname.slice(1);
  await admin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
  Object.assign(rig, await startRig(rig.databaseUrl));
}

// ───────────────────────────────────────────── sizes and EXPLAIN ────────────────────────────────

async function measureSize(url: string, size: ScaleSize): Promise<SizeResult['db']> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    // Every table of the database but TypeORM's own: whatever tables the library's migrations made.
    const { rows } = await c.query(
      `SELECT c.relname AS table, pg_relation_size(c.oid) AS heap, pg_indexes_size(c.oid) AS indexes,
              COALESCE(pg_total_relation_size(c.reltoastrelid), 0) AS toast, pg_total_relation_size(c.oid) AS total
         FROM pg_class c
        WHERE c.relkind IN ('r', 'p') AND c.relnamespace = 'public'::regnamespace AND c.relname <> 'migrations'
        ORDER BY pg_total_relation_size(c.oid) DESC`,
    );
    const tables = rows.map((r) => ({ table: r.table, heap: +r.heap, indexes: +r.indexes, toast: +r.toast, total: +r.total }));
    const total = tables.reduce((s, t) => s + t.total, 0);
    const indexes = tables.reduce((s, t) => s + t.indexes, 0);
    const millions = totalRows(size) / 1e6;
    return { tables, total, bytesPerMillion: total / millions, indexBytesPerMillion: indexes / millions };
  } finally {
    await c.end();
  }
}

/** Replaces, anywhere in `params`, the values `map` names. */
function substitute(params: unknown[], map: Map<string, string>): unknown[] {
  const sub = (v: unknown): unknown => (Array.isArray(v) ? v.map(sub) : typeof v === 'string' && map.has(v) ? map.get(v) : v);
  return params.map(sub);
}

/**
 * What a statement does, from its SQL (a label only: an unknown statement is named by its
 * first words). Statements of one call are told apart by their order too.
 */
function statementName(sql: string): string {
  const q = sql.replace(/\s+/g, ' ');
  const known: [RegExp, string][] = [
    // The per-inbox reads (`SELECT u.ord, …` over arrays of inboxes) told apart by what they return.
    [/^SELECT u\.ord, u\.unread, u\.unseen\b/, 'per socket: badge + catch-up page'],
    [/ARRAY\(SELECT s\.topic FROM inbox_subscription/, 'rooms: topics, muted types'],
    [/ AS c0\b/, 'counts of views'],
    [/ AS unread, .* AS unseen\b/, 'badge'],
    [/^SELECT u\.ord\b/, 'per inbox: badge or counts'],
    [/\bin_flight AS \(/, 'watermarks ("all")'],
    [/\bdirect AS \( UPDATE /, 'mark by ids'],
    [/INSERT INTO inbox_user_state .*muted_types/, 'set preferences'],
    [/^SELECT muted_types, muted_topics FROM inbox_user_state/, 'preferences'],
    [/INSERT INTO inbox_subscription/, 'subscribe'],
    [/ AS c0\b/, 'counts of views'],
    [/ AS unread, .* AS unseen\b/, 'badge'],
    // Before 'page': it counts a page of the filter (a change by filter's maxBulkRows check).
    [/^SELECT count\(\*\)::int AS count, max\(p\.id\)/, 'bulk count (up to maxBulkRows + 1)'],
    [/SELECT DISTINCT ON \(v\.id\)/, 'page'],
  ];
  return known.find(([re]) => re.test(q))?.[1] ?? firstLine(q).slice(0, 50);
}

/**
 * 8 kB pages a statement touched (shared hit + read), from its plan: the top node's Buffers
 * (which count its children's and its init plans') plus those of the CTEs nothing scans (the
 * data-modifying ones that are run after the main plan, e.g. mark-all's watermark updates).
 */
function pagesOf(plan: string): number | null {
  const lines = plan.split('\n');
  if (lines[0].startsWith('EXPLAIN failed')) return null;
  const buffers = (l: string) => {
    const b = /^\s*Buffers: shared(?: hit=(\d+))?(?: read=(\d+))?/.exec(l);
    return b ? Number(b[1] ?? 0) + Number(b[2] ?? 0) : null;
  };
  /** The Buffers of the node on line i: among its detail lines, before its first child. */
  const ofNode = (i: number) => {
    for (let j = i + 1; j < lines.length; j++) {
      const t = lines[j].trim();
      if (t.startsWith('->') || /^(CTE \S+|InitPlan|SubPlan|Planning|Execution Time|Trigger)/.test(t)) return 0;
      const b = buffers(lines[j]);
      if (b !== null) return b;
    }
    return 0;
  };
  let pages = ofNode(0);
  const scanned = new Set([...plan.matchAll(/CTE Scan on (\S+)/g)].map((m) => m[1]));
  lines.forEach((l, i) => {
    const m = /^\s*CTE (\S+)$/.exec(l);
    if (m && !scanned.has(m[1]) && lines[i + 1]?.trim().startsWith('->')) pages += ofNode(i + 1);
  });
  return pages;
}

/**
 * The library's SQL for the calls measured (list, counts, catch-up with and without cursor,
 * mark read and mark all read, the inbox-state operations), as it ran it (recorded by the
 * server's TypeORM logger while the call ran for user A), then run by us with `EXPLAIN
 * (ANALYZE, BUFFERS)` for a fresh user B (so B's pages are as cold as a random user's): the
 * statements of one call in order, in one transaction rolled back at the end (so a statement
 * sees what the ones before it wrote, as in the call itself).
 */
async function explainAll(databaseUrl: string, server: Child, client: Child, url: string, deck: Deck, members: Deck): Promise<Explained[]> {
  const out: Explained[] = [];
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  /**
   * `pageIds`: a later statement's array of ids (A's, from A's page) becomes the ids B's page
   * returned (the page statement is run once more, plainly, after its EXPLAIN).
   */
  const run = async (label: string, call: string, all: CapturedQuery[], map: Map<string, string>, pageIds = false) => {
    // The call's statements are those about user A (the map's first key): not what the host's
    // background jobs (the snooze waker, …) happened to run meanwhile.
    const userA = [...map.keys()][0];
    const mentions = (v: unknown): boolean => (Array.isArray(v) ? v.some(mentions) : v === userA);
    const captured = all.filter((q) => q.parameters.some(mentions));
    await c.query('BEGIN');
    let ids: string[] | null = null;
    try {
      for (const [i, q] of captured.entries()) {
        let parameters = substitute(q.parameters, map);
        if (pageIds && ids) {
          const page = ids;
          parameters = parameters.map((p) =>
            Array.isArray(p) && p.length > 0 && p.every((x) => typeof x === 'string' && /^\d+$/.test(x)) ? page.slice(0, p.length) : p,
          );
        }
        let plan: string;
        await c.query('SAVEPOINT explain');
        try {
          const { rows } = await c.query(`EXPLAIN (ANALYZE, BUFFERS) ${q.query}`, parameters);
          plan = rows.map((r) => r['QUERY PLAN']).join('\n');
          await c.query('RELEASE SAVEPOINT explain');
        } catch (err) {
          plan = `EXPLAIN failed: ${(err as Error).message}`;
          await c.query('ROLLBACK TO SAVEPOINT explain');
        }
        if (pageIds && statementName(q.query) === 'page') ids = (await c.query(q.query, parameters)).rows.map((r) => String(r.id));
        const m = /Execution Time: ([\d.]+) ms/.exec(plan);
        out.push({
          label,
          call,
          index: i + 1,
          statement: statementName(q.query),
          query: q.query,
          parameters,
          plan,
          executionMs: m ? Number(m[1]) : null,
          pages: pagesOf(plan),
        });
      }
    } finally {
      await c.query('ROLLBACK');
    }
  };
  const pair = () => deck.take(2, true);
  try {
    for (const [label, q] of [
      ['list, page of 20', { limit: 20 }],
      ['list, page of 20, unreadOnly', { limit: 20, unreadOnly: true }],
      ["list, page of 20, type 'mention'", { limit: 20, type: 'mention' }],
    ] as const) {
      const [a, b] = pair();
      const captured = await server.call('capture', { call: 'list', user: a, arg: q });
      await run(label, `NotificationService.list(userId, ${JSON.stringify(q)})`, captured, new Map([[a, b]]));
    }
    {
      const [a, b] = pair();
      const captured = await server.call('capture', { call: 'unreadCount', user: a });
      await run('unread count', 'NotificationService.unreadCount(userId)', captured, new Map([[a, b]]));
    }
    {
      const [a, b] = pair();
      await server.call('captureStart');
      const s = await client.call('connect', { url, user: a });
      const captured = await server.call('captureStop');
      await run(
        'catch-up on connect, no cursor',
        'a socket connects (gateway: topics, catch-up, unread count)',
        captured,
        new Map([[a, b]]),
      );
      // Mark read of the newest one user A was sent, for B, and mark all read for B (both rolled back).
      if (s.newest) {
        const [a2, b2] = pair();
        const mr = await server.call('capture', { call: 'markRead', user: a2, arg: [s.newest.id] });
        await run('mark read of one id (rolled back)', 'NotificationService.markRead(userId, [id])', mr, new Map([[a2, b2]]));
      }
      const [a3, b3] = pair();
      const ra = await server.call('capture', { call: 'markAllRead', user: a3 });
      await run('mark all read (rolled back)', 'NotificationService.markAllRead(userId)', ra, new Map([[a3, b3]]));
    }
    {
      const [a, b] = pair();
      const [idsA, idsB]: string[][] = [
        await server.call('notify', { user: a, count: 6 }),
        await server.call('notify', { user: b, count: 6 }),
      ];
      await server.call('captureStart');
      await client.call('connect', { url, user: a, cursor: idsA[0] });
      const captured = await server.call('captureStop');
      await run(
        'catch-up on connect, cursor (5 missed)',
        'a socket connects with auth.cursor',
        captured,
        new Map([
          [a, b],
          [idsA[0], idsB[0]],
        ]),
      );
    }
    for (const op of STATE_OPS) {
      const [a, b] = pair();
      const { captured, args } = await server.call('captureSteps', { user: a, steps: op.steps });
      const map = new Map([[a, b]]);
      // By ids: A's ids (as the steps found them) become B's, found the same way.
      for (const [i, step] of op.steps.entries()) {
        if (!step.ids) continue;
        const idsB: string[] = await server.call('ids', { user: b, spec: step.ids });
        (args[i] as string[]).forEach((id, j) => idsB[j] !== undefined && map.set(id, idsB[j]));
      }
      await run(op.explain, callText(op.steps), captured, map, op.pageIds);
    }
    // The per-scope ones: member A in A's scope becomes member B in B's scope (the scope is a parameter too).
    const memberPair = () => {
      const [a, b] = members.take(2, true);
      return { a, b, map: new Map([[a, b], ...(scopeOf(a) === scopeOf(b) ? [] : [[scopeOf(a), scopeOf(b)] as [string, string]])]) };
    };
    {
      const { a, map } = memberPair();
      await server.call('captureStart');
      await client.call('connect', { url, user: a, scope: scopeOf(a) });
      const captured = await server.call('captureStop');
      await run(
        'scope: catch-up on connect, no cursor',
        'a socket connects with auth.scope (gateway: topics, catch-up, unread count)',
        captured,
        map,
      );
    }
    for (const op of SCOPE_OPS) {
      const { a, b, map } = memberPair();
      const { captured, args } = await server.call('captureSteps', { user: a, steps: op.steps, scope: scopeOf(a) });
      for (const [i, step] of op.steps.entries()) {
        if (!step.ids) continue;
        const idsB: string[] = await server.call('ids', { user: b, spec: step.ids, scope: scopeOf(b) });
        (args[i] as string[]).forEach((id, j) => idsB[j] !== undefined && map.set(id, idsB[j]));
      }
      await run(op.explain, callText(op.steps, scopeOf(b)), captured, map, op.pageIds);
    }
  } finally {
    await c.end();
  }
  return out;
}

// ───────────────────────────────────────────── report ───────────────────────────────────────────

const ms = (v: number) =>
  !Number.isFinite(v)
    ? '–'
    : v >= 10_000
      ? `${(v / 1000).toFixed(1)} s`
      : v >= 1000
        ? `${(v / 1000).toFixed(2)} s`
        : v >= 100
          ? `${v.toFixed(0)} ms`
          : v >= 10
            ? `${v.toFixed(1)} ms`
            : `${v.toFixed(2)} ms`;
const cell = (o: OpResult | undefined, k: 'p50' | 'p99') => (!o ? '' : o.skipped ? 'not run' : `${o.censored ? '> ' : ''}${ms(o[k])}`);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(b >= 100 * 2 ** 20 ? 0 : 1)} MiB`;

function ratioCell(s?: OpResult, l?: OpResult): string {
  if (!s || !l || s.skipped || l.skipped || !Number.isFinite(s.p50) || !Number.isFinite(l.p50)) return '–';
  const r = l.p50 / s.p50;
  return `${l.censored ? '> ' : ''}${r >= 100 ? r.toFixed(0) : r.toFixed(1)}×`;
}

interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  loadAtStart: string;
}

function sizeLine(z: ScaleSize) {
  const sc = z.scoped;
  return (
    `${z.rows.toLocaleString('en')} notifications: ${z.users.toLocaleString('en')} users × ~${Math.round((z.rows - z.broadcasts - z.publications) / z.users)} direct, ` +
    `${z.broadcasts.toLocaleString('en')} broadcasts, ${z.publications.toLocaleString('en')} publications over ${z.topics.toLocaleString('en')} topics; ` +
    `and ${scopedRows(z).toLocaleString('en')} scoped: ${sc.users.toLocaleString('en')} members × ${sc.direct.toLocaleString('en')} direct over ${SCOPES} scopes ` +
    `and the unscoped inbox, per scope ${sc.broadcasts.toLocaleString('en')} broadcasts and ${sc.topics} topics × ${sc.publications.toLocaleString('en')} publications`
  );
}

function markdown(results: SizeResult[], machine: Machine, seconds: number, failures: string[]): string {
  const bySize = (name: string) => results.find((r) => r.size.name === name);
  const S = bySize('S');
  const Lr = bySize('L');
  const lines: string[] = [
    '# Scale benchmark: the inbox at S and L',
    '',
    `Produced by \`npm run bench:scale\` (bench/scale/run.ts) on ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC in ${Math.round(seconds)} s, random users from seed ${randomSeed}.`,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM; Node ${machine.node}; PostgreSQL ${machine.postgres} ` +
      `(the machine's server and settings); load average at start ${machine.loadAtStart}.`,
    '',
    "Everything is measured through the public API: `NotificationService` calls in a host app (one instance, the module's defaults " +
      'but `canSubscribe`) and real socket.io-client connections authenticated by a cookie, as `npm run bench` does. Only the seeding ' +
      '(bench/scale/seed.ts) writes the tables. Latencies are p50 / p99 (nearest rank; with n < 100, p99 is the maximum) over n ' +
      'repetitions, each on a different random user. A `>` marks a measurement cut at its cap (the run has a time budget): the true ' +
      'value is higher. "load" is the highest 1-minute load average seen while an operation ran (2 cores: above 2, other processes shared the CPU).',
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.size.name}: ${sizeLine(r.size)}`, '');
    lines.push(
      `Seeded in ${r.seed.seconds.toFixed(1)} s (${Object.entries(r.seed.steps)
        .map(([k, v]) => `${k} ${v.toFixed(1)} s`)
        .join(', ')}); ` + `measured in ${Math.round(r.seconds - r.seed.seconds)} s.`,
      '',
    );
    lines.push('| operation | via | p50 | p99 | n | load | note |', '|---|---|---:|---:|---:|---:|---|');
    for (const o of r.ops) {
      lines.push(
        `| ${o.label} | ${o.how} | ${cell(o, 'p50')} | ${cell(o, 'p99')} | ${o.n || ''} | ${o.load.toFixed(1)} | ${o.skipped ? o.skipped : (o.note ?? '')} |`,
      );
    }
    lines.push('');
  }
  if (S && Lr) {
    lines.push(
      '## L / S',
      '',
      `Ratio of the p50s (L ÷ S). The issue's targets: every ratio ≤ 1.5×; at L, list p50 ≤ 5 ms, connect → synced p50 ≤ 15 ms, read-all p50 ≤ 5 ms.`,
      '',
    );
    lines.push('| operation | S p50 | L p50 | L/S | ≤ 1.5× | S p99 | L p99 |', '|---|---:|---:|---:|:-:|---:|---:|');
    for (const [key, , how] of OPS) {
      const s = S.ops.find((o) => o.key === key);
      const l = Lr.ops.find((o) => o.key === key);
      if (!s && !l) continue;
      const ok = s && l && !s.skipped && !l.skipped && how !== 'sockets' ? (l.p50 / s.p50 <= 1.5 && !l.censored ? 'yes' : '**no**') : '';
      lines.push(
        `| ${(s ?? l)!.label} | ${cell(s, 'p50')} | ${cell(l, 'p50')} | ${ratioCell(s, l)} | ${ok} | ${cell(s, 'p99')} | ${cell(l, 'p99')} |`,
      );
    }
    lines.push('');
  }
  lines.push(
    '## Table and index bytes',
    '',
    'After seeding and VACUUM ANALYZE, before any operation ran (`pg_total_relation_size`: heap + TOAST + indexes).',
    '',
  );
  lines.push('| size | table | heap | indexes | total |', '|---|---|---:|---:|---:|');
  for (const r of results) {
    for (const t of r.db.tables)
      lines.push(`| ${r.size.name} | ${t.table} | ${mib(t.heap + t.toast)} | ${mib(t.indexes)} | ${mib(t.total)} |`);
    lines.push(
      `| ${r.size.name} | **per million notifications** | | ${mib(r.db.indexBytesPerMillion)} | **${mib(r.db.bytesPerMillion)}** |`,
    );
  }
  lines.push('');
  lines.push(
    '## EXPLAIN (ANALYZE, BUFFERS)',
    '',
    "The statements the library ran for each call (recorded by the host's TypeORM logger), explained for a fresh random user; " +
      'full plans in `explain-<size>.txt`. "pages": 8 kB buffers the statement touched (shared hit + read): its work, which the ' +
      "machine's load does not change, so the steadiest number to compare across runs and schemas.",
    '',
  );
  const pagesCell = (n: number | null | undefined) => (n == null ? '' : n.toLocaleString('en'));
  lines.push(
    `| call | statement | ${results.map((r) => `${r.size.name} time | ${r.size.name} pages`).join(' | ')}${S && Lr ? ' | L/S pages' : ''} |`,
    `|---|---|${results.map(() => '---:|---:').join('|')}${S && Lr ? '|---:' : ''}|`,
  );
  const labels = [...new Set(results.flatMap((r) => r.explain.map((e) => `${e.label}\u0000${e.index}`)))];
  for (const key of labels) {
    const [label, index] = key.split('\u0000');
    const find = (r?: SizeResult) => r?.explain.find((x) => x.label === label && x.index === Number(index));
    const first = `${index}. ${(find(S) ?? find(Lr) ?? results.map(find).find(Boolean))!.statement}`;
    const cells = results.map((r) => {
      const e = find(r);
      return `${e?.executionMs != null ? ms(e.executionMs) : ''} | ${pagesCell(e?.pages)}`;
    });
    const [es, el] = [find(S), find(Lr)];
    const ratio =
      es?.pages && el?.pages != null ? ` | ${(el.pages / es.pages).toFixed(el.pages / es.pages >= 10 ? 0 : 1)}×` : S && Lr ? ' | –' : '';
    lines.push(`| ${label} | ${first.replace(/\|/g, '\\|')} | ${cells.join(' | ')}${ratio} |`);
  }
  lines.push('');
  const notes = [...failures.map((f) => `**Failed**: ${f}`), ...results.flatMap((r) => r.notes), ...DATASET_NOTES];
  lines.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}

const firstLine = (sql: string) => sql.replace(/\s+/g, ' ').trim().slice(0, 70);

const DATASET_NOTES = [
  'The history (bench/scale/seed.ts): one year of notifications in id order; broadcasts and publications spread evenly among the direct rows; ' +
    'each user has read all their direct notifications but the newest 3, and is subscribed to one topic since before the year began. ' +
    'Nobody has pressed "mark all …" (no watermark), but each user changed a few one by one: the newest read direct row archived, the one ' +
    'before it deleted, the oldest unread one seen; 6 receipts (of the 10 newest broadcasts 2 read, 1 seen, 1 archived, 1 deleted; the ' +
    "newest publication of their topic read). So a user's unread count is about 2 + broadcasts + their topic's publications. Types: " +
    'direct rows rotate over 5 types; broadcasts are `announcement`, every 4th `maintenance`; publications `release`. Tags follow the type ' +
    "(`billing` is on direct `order` rows only, a fifth of a user's direct rows, and on no shared row). One user in 10 muted `reminder`, one in 20 `maintenance`.",
  'The inbox-state rows (`list` of a view … `counts` after muting) are `NotificationService` calls timed in the host process (no socket round trip), ' +
    'on random users nothing touched before; "each user once": destructive, on a fresh user per repetition (S has 2,000 users: 100 repetitions). ' +
    'A call by ids first finds its ids through `list`, untimed, as a client holds them. The bulk archive of the read ones goes by pages of 500 ' +
    '(list, then mark those ids) and so costs what it selects: at L a user has ~100 read direct rows, at S ~1. `mute` then `countsMuted` run on the same user, one after the other.',
  "The EXPLAINs run each call's statements in order in one transaction, rolled back at the end (a statement sees what the ones before it " +
    "wrote). Calls by ids run on user B with B's own ids found the same way; the bulk archive's mark takes the ids B's page returned.",
  "The Postgres server is the machine's (shared_buffers and the rest at their settings): L does not fit in shared_buffers but does in the " +
    'OS page cache, so "cold" reads are page-cache reads, not disk.',
  "Indexes are built once after the bulk load, so they are denser than indexes grown row by row would be; table and index bytes are a lower bound of a live database's.",
  '"5 missed": before each connect the host sends the user 6 notifications; the client\'s cursor is the first (it missed the other 5). ' +
    'The reconnect storms use the id of the last broadcast, which every user of the fleet holds, as cursor.',
  'The list, subscribe, read and read-all rows run on the sockets of the "connects, no cursor" row, right after that user connected ' +
    '(as a client does: its first page comes after the catch-up), so the user\'s own rows are warm; "unread count" and the EXPLAINs use users nothing touched before.',
  'Storms: every socket opens at once from two client processes on the same 2 cores as the server and Postgres. The "reference: bare ' +
    'Socket.IO" rows are `npm run bench`\'s bare server (same cookie check, no database) with the same clients, just before the ' +
    "library's storm: what the machine and Socket.IO take by themselves at that moment (their L/S ratio shows the noise between the " +
    'two runs). A handshake reset by the server (its TCP accept backlog overflowing) is retried as socket.io-client does by default; ' +
    'the notes count them.',
  'The scoped history (issue 22, the rows named "scope: …"): after the unscoped one (ids above it, same year, older transactions than any ' +
    'the bench runs), `member-<n>` users each in the 10 scopes `ws-0` … `ws-9`, their direct rows dealt in turn to their 10 scopes and ' +
    'their unscoped inbox (at L ~100 in each of the 11 parts: ~1,000 of ~1,100 in scopes other than the one measured), read, seen, ' +
    "archived and deleted per part as the unscoped users' rows; per scope scoped broadcasts (same types) and publications on a few " +
    'topics named as unscoped ones (`topic-0` of `ws-3` is its own stream); each member subscribed to one topic in each scope and ' +
    'to one unscoped topic, with the same receipts in each stream, and `reminder` muted in one other scope. Member n is measured in ' +
    'scope `ws-<n mod 10>` (`auth.scope` on the socket, `{ scope }` on the calls). The "≤ 1.5×" of these rows is the scale rule per ' +
    "(user, scope); the EXPLAIN pages of their statements show whether a plan reads another scope's rows.",
  "Bytes per million notifications mean little at S (every table and index has a minimum size); L's figure is the one to compare.",
];

function print(results: SizeResult[]) {
  const S = results.find((r) => r.size.name === 'S');
  const Lr = results.find((r) => r.size.name === 'L');
  const rows = OPS.map(([key, label]) => {
    const s = S?.ops.find((o) => o.key === key);
    const l = Lr?.ops.find((o) => o.key === key);
    return [label.replace(/`/g, ''), cell(s, 'p50'), cell(s, 'p99'), cell(l, 'p50'), cell(l, 'p99'), ratioCell(s, l)];
  }).filter((r) => r.slice(1, 5).some(Boolean));
  const header = ['operation', 'S p50', 'S p99', 'L p50', 'L p99', 'L/S'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(['', line(header), ...rows.map(line), ''].join('\n'));
  for (const r of results) {
    console.log(
      `${r.size.name}: ${mib(r.db.total)} in all, ${mib(r.db.bytesPerMillion)} per million notifications (indexes ${mib(r.db.indexBytesPerMillion)}); seeded in ${r.seed.seconds.toFixed(1)} s`,
    );
  }
}

function explainText(r: SizeResult): string {
  const parts = [
    `EXPLAIN (ANALYZE, BUFFERS) of the library's statements at ${r.size.name} (${sizeLine(r.size)}).`,
    "Each statement is what the library sent through the host's TypeORM DataSource during the public call named, recorded by",
    "the host's TypeORM logger (bench/scale/server.ts), then run here for a fresh random user, in a transaction rolled back.",
    'The SQL is built by libs/nestjs-inbox/src/persistence/sql/ and run by its repositories/.',
    '',
  ];
  // Each distinct SQL text in full once; later statements with the same text refer to it.
  const first = new Map<string, string>();
  for (const e of r.explain) {
    const here = `${e.label}, statement ${e.index}`;
    parts.push('='.repeat(110), `${e.label}: ${e.call}`, `statement ${e.index}: ${e.statement}`, '-'.repeat(110));
    const seen = first.get(e.query);
    if (!seen) first.set(e.query, here);
    parts.push(
      seen ? `(the SQL of "${seen}" above)` : e.query.replace(/^\s*\n/, '').replace(/\n\s*$/, ''),
      '',
      `parameters: ${JSON.stringify(e.parameters)}`,
      '',
      e.plan,
      '',
    );
  }
  return parts.join('\n');
}

// ───────────────────────────────────────────── main ─────────────────────────────────────────────

async function main() {
  log(
    `sizes ${sizeNames.join(', ')}; budget ${minutes} min; ${outDir ? `results to ${outDir}` : 'results printed only (use --out DIR to write them)'}`,
  );
  await dropStale();
  const [{ server_version }] = await admin<{ server_version: string }>('SHOW server_version');
  const machine: Machine = {
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    postgres: server_version.split(' ')[0],
    loadAtStart: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
  const results: SizeResult[] = [];
  const failures: string[] = [];
  // L first: its slow operations get the budget, less what S needs without its optional 5,000-user
  // phase (S_RESERVE_MS); S then takes what is left (its 5,000 users only if they fit).
  for (const name of ['L', 'S'].filter((s) => sizeNames.includes(s))) {
    const size = SIZE_OF[name];
    if (waitQuiet > 0) deadline += await quiet(waitQuiet);
    const sizeDeadline = name === 'L' && sizeNames.includes('S') ? deadline - S_RESERVE_MS : deadline;
    const firstCleanup = cleanups.length;
    try {
      results.push(await runSize(size, PLANS[name], sizeDeadline));
    } catch (err) {
      // The other size's results are still written; the run fails at the end.
      console.error(err);
      failures.push(`${name}: ${(err as Error).message.split('\n')[0]}`);
    } finally {
      // This size's processes and database, before the next size seeds.
      while (cleanups.length > firstCleanup) await cleanups.pop()!().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
    }
    if (outDir) write(results, machine, failures);
  }
  print(inOrder(results));
  if (outDir) log(`wrote RESULTS.md, results.json and explain-${results.map((r) => r.size.name).join('/explain-')}.txt to ${outDir}`);
  log(`done in ${Math.round((Date.now() - started) / 1000)} s`);
  if (failures.length) throw new Error(`failed: ${failures.join('; ')}`);
}

/** S before L in the report, whichever ran first. */
const inOrder = (results: SizeResult[]) => [...results].sort((a, b) => (a.size.name === 'S' ? -1 : b.size.name === 'S' ? 1 : 0));

function write(measured: SizeResult[], machine: Machine, failures: string[]) {
  const results = inOrder(measured);
  const seconds = (Date.now() - started) / 1000;
  mkdirSync(outDir!, { recursive: true });
  writeFileSync(join(outDir!, 'RESULTS.md'), markdown(results, machine, seconds, failures));
  // The plans and SQL are in explain-<size>.txt; the JSON keeps what each statement cost.
  const json = results.map((r) => ({ ...r, explain: r.explain.map(({ plan: _plan, query, ...e }) => ({ ...e, sql: firstLine(query) })) }));
  writeFileSync(
    join(outDir!, 'results.json'),
    JSON.stringify({ date: new Date().toISOString(), seconds, seed: randomSeed, minutes, machine, failures, results: json }, null, 2) +
      '\n',
  );
  for (const r of results) writeFileSync(join(outDir!, `explain-${r.size.name}.txt`), explainText(r));
}

/** Waits (at most `seconds`) until the 1-minute load average is below the number of cores. */
async function quiet(seconds: number): Promise<number> {
  const t0 = Date.now();
  const cores = cpus().length;
  if (loadavg()[0] < cores) return 0;
  log(`load average ${loadavg()[0].toFixed(1)} on ${cores} cores: waiting up to ${seconds} s for it to drop below ${cores}`);
  while (loadavg()[0] >= cores && Date.now() < t0 + seconds * 1000) await sleep(5_000);
  log(`load average now ${loadavg()[0].toFixed(1)}`);
  return Date.now() - t0;
}

main()
  .catch(async (err) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    await cleanup();
    process.exit(process.exitCode ?? 0);
  });
