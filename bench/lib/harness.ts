import { sleep } from './clock';
import { type EventLoopReport } from './event-loop';
import { type Child, spawnChild, type SpawnOptions } from './ipc';
import { type Row } from './result';

/** The sizes of one run: full (the published numbers) or quick (CI: does it still work?). */
export interface Sizes {
  quick: boolean;
  latencyClients: number;
  latencyCount: number;
  latencyRate: number;
  throughputCount: number;
  throughputConcurrency: number;
  fleetClients: number;
  broadcastRepeats: number;
  catchUpCount: number;
  catchUpRepeats: number;
  workers: number;
  /** Scenario 8: idle connections per side, the load-generator processes opening them, broadcasts and rounds. */
  connections: number;
  connectionWorkers: number;
  connectionBroadcasts: number;
  connectionRounds: number;
}

export const FULL: Sizes = {
  quick: false,
  latencyClients: 1000,
  latencyCount: 2500,
  latencyRate: 500,
  throughputCount: 30_000,
  throughputConcurrency: 500,
  fleetClients: 5000,
  broadcastRepeats: 9,
  catchUpCount: 1000,
  catchUpRepeats: 10,
  workers: 2,
  connections: 10_000,
  connectionWorkers: 4,
  connectionBroadcasts: 3,
  connectionRounds: 1,
};

export const QUICK: Sizes = {
  quick: true,
  latencyClients: 100,
  latencyCount: 200,
  latencyRate: 200,
  throughputCount: 500,
  throughputConcurrency: 20,
  fleetClients: 200,
  broadcastRepeats: 2,
  catchUpCount: 100,
  catchUpRepeats: 3,
  workers: 2,
  connections: 200,
  connectionWorkers: 1,
  connectionBroadcasts: 1,
  connectionRounds: 1,
};

/** Everything a scenario needs to start processes against this run's database and Redis. */
export interface Env {
  sizes: Sizes;
  databaseUrl: string;
  redisUrl: string;
  origin: string;
  log: (msg: string) => void;
}

export type Target = 'library' | 'bare';

export interface Server {
  child: Child;
  url: string;
  redisAdapter: string;
}

/** Starts the server under test (library host app or bare Socket.IO) in its own process. */
export async function startServer(
  env: Env,
  target: Target,
  { redis = false, spawn = {} as SpawnOptions, variables = {} as Record<string, string> } = {},
): Promise<Server> {
  const child = spawnChild(
    `${target}-server`,
    `servers/${target}-server`,
    {
      ...variables,
      DATABASE_URL: env.databaseUrl,
      ORIGIN: env.origin,
      // A channel prefix of this run and side: the machine's Redis is shared with other runs and
      // test suites, and the library's and the bare side's adapters must not hear each other.
      ...(redis ? { REDIS_URL: env.redisUrl, REDIS_KEY: `inbox-bench-${process.pid}-${target}` } : {}),
    },
    spawn,
  );
  // Start-up compiles the library (ts-node): on a shared machine at load 15-20 this took over a minute.
  const { url, redisAdapter } = await child.call('info', {}, 180_000);
  return { child, url, redisAdapter };
}

/** Client worker processes, each holding its share of the connections. */
export class Clients {
  private constructor(readonly workers: Child[]) {}

  static start(env: Env, count = env.sizes.workers): Clients {
    return new Clients(
      Array.from({ length: count }, (_, i) => spawnChild(`clients-${i}`, 'workers/client-worker', { ORIGIN: env.origin })),
    );
  }

  /** Connects `users` (split evenly across workers), worker i to `urls[i % urls.length]`. */
  async connect(urls: string[], users: string[]): Promise<void> {
    const share = Math.ceil(users.length / this.workers.length);
    await Promise.all(
      this.workers.map((w, i) =>
        w.call('connect', { url: urls[i % urls.length], users: users.slice(i * share, (i + 1) * share) }, 300_000),
      ),
    );
  }

  async reset(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.call('reset')));
  }

  /** Waits until `total` notifications arrived across workers; returns every worker's record. */
  async collect(total: number, timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const stats: { received: number; lastAt: number; latencies: number[]; otherEvents: number }[] = await Promise.all(
        this.workers.map((w) => w.call('stats')),
      );
      const received = stats.reduce((s, x) => s + x.received, 0);
      if (received >= total || Date.now() > deadline) {
        return {
          received,
          lastAt: Math.max(...stats.map((s) => s.lastAt)),
          latencies: stats.flatMap((s) => s.latencies),
          otherEvents: stats.reduce((s, x) => s + x.otherEvents, 0),
        };
      }
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.stop()));
  }
}

export const users = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** A target's servers (one, or two through Redis) with its own client workers and users. */
export interface Side {
  target: Target;
  servers: Server[];
  clients: Clients;
  users: string[];
}

/**
 * Starts the library and the bare side together, each with `n` connected users, so that a
 * scenario can alternate rounds between them: a busy moment of the machine (other processes,
 * a Postgres checkpoint) then falls on both sides, not on whichever ran second.
 */
export async function startSides(env: Env, prefix: string, n: number, instances: 1 | 2 = 1): Promise<Side[]> {
  const sides: Side[] = [];
  try {
    for (const target of ['library', 'bare'] as Target[]) {
      const servers: Server[] = [];
      sides.push({ target, servers, clients: Clients.start(env), users: users(`${prefix}-`, n) });
      for (let i = 0; i < instances; i++) servers.push(await startServer(env, target, { redis: instances === 2 }));
      const side = sides[sides.length - 1];
      await side.clients.connect(
        servers.map((s) => s.url),
        side.users,
      );
    }
    return sides;
  } catch (err) {
    await stopSides(sides);
    throw err;
  }
}

export async function stopSides(sides: Side[]): Promise<void> {
  for (const side of sides) {
    await side.clients.stop();
    await Promise.all(side.servers.map((s) => s.child.stop()));
  }
}

/**
 * The order of the sides in round `round`: rotated by one every other round, reversed every
 * odd round (a Williams design), so that over the rounds each side goes first, and each follows
 * each of the others, about as often: what one side leaves behind (garbage, Postgres' dirty
 * pages) does not always fall on the same successor. Two sides: a b, b a, b a, a b.
 */
export const inTurn = <T>(round: number, sides: T[]): T[] => {
  const shift = Math.floor(round / 2) % sides.length;
  const rotated = [...sides.slice(shift), ...sides.slice(0, shift)];
  return round % 2 ? rotated.reverse() : rotated;
};

/**
 * The event-loop delay of each server instance over a scenario's measured rounds (not its
 * start-up or connections): `start` before a side's round resets the instances' histograms,
 * `add` after it folds the round in. Per instance: the worst round's p99, the max, GC time,
 * and the longest stalls with what they were made of (bench/lib/event-loop.ts).
 */
export class EventLoops {
  readonly byTarget: Record<Target, (EventLoopReport & { rounds: number })[]> = { library: [], bare: [] };

  async start(side: Side): Promise<void> {
    await Promise.all(side.servers.map((s) => s.child.call('eventLoop')));
  }

  async add(side: Side): Promise<void> {
    const reports: EventLoopReport[] = await Promise.all(side.servers.map((s) => s.child.call('eventLoop')));
    const all = this.byTarget[side.target];
    reports.forEach((r, i) => {
      const a = (all[i] ??= { p99Ms: 0, maxMs: 0, gcMs: 0, gcMaxMs: 0, forcedGcMs: 0, stalls: [], rounds: 0 });
      a.p99Ms = Math.max(a.p99Ms, r.p99Ms);
      a.maxMs = Math.max(a.maxMs, r.maxMs);
      a.gcMs += r.gcMs;
      a.forcedGcMs += r.forcedGcMs;
      a.gcMaxMs = Math.max(a.gcMaxMs, r.gcMaxMs);
      a.stalls = [...a.stalls, ...r.stalls].sort((x, y) => y.ms - x.ms).slice(0, 3);
      a.rounds++;
    });
  }

  /** The worst instance's p99 and max, per side; and a note of each instance's longest stalls. */
  rows(scenario: string, baselineName: string): { rows: Row[]; note: string } {
    const worst = (t: Target, k: 'p99Ms' | 'maxMs') => Math.max(0, ...this.byTarget[t].map((r) => r[k]));
    const row = (metric: string, k: 'p99Ms' | 'maxMs'): Row => ({
      scenario,
      metric,
      unit: 'ms',
      library: worst('library', k),
      baseline: worst('bare', k),
      baselineName,
      better: 'lower',
    });
    const describe = (t: Target) =>
      this.byTarget[t]
        .map(
          (r, i) =>
            `${t} instance ${i + 1}: p99 ${r.p99Ms} ms, max ${r.maxMs} ms, GC ${Math.round(r.gcMs)} ms in all (longest ${r.gcMaxMs} ms)` +
            (r.stalls.length
              ? `; longest stalls ${r.stalls.map((s) => `${s.ms} ms (CPU ${s.cpuMs} ms, GC ${s.gcMs} ms${s.gcKind ? ` ${s.gcKind}` : ''})`).join(', ')}`
              : ''),
        )
        .join('; ');
    return {
      rows: [row('event-loop delay p99, worst instance', 'p99Ms'), row('event-loop delay max, worst instance', 'maxMs')],
      note: `${scenario}, event loop during the rounds: ${describe('library')}; ${describe('bare')}.`,
    };
  }
}
