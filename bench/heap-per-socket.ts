/**
 * `npm run bench:heap-per-socket` (CONNECTIONS=n, default 10,000; ROUNDS=r, default 1): the
 * server's heap and RSS per idle connection, the library's gateway against bare Socket.IO
 * (`servers/bare-server`: the same namespace, cookie and Origin check, user room), and the
 * library with `releaseHandshakeRequest`. Each server runs in a process of its own, as do the
 * socket.io-client connections (WebSocket transport, like a browser after the upgrade), so the
 * server's numbers hold the server only. Memory is read after full collections (--expose-gc):
 * once with `WARM` connections open (the code every connection runs is compiled by then, and
 * its cost is not spread over the connections), once with `CONNECTIONS` more; the difference
 * divided by `CONNECTIONS` is per connection. ATTRIBUTE=1 then writes a heap snapshot of each
 * server and splits its heap per connection among Socket.IO's, engine.io's, ws's and Node's
 * objects (lib/heap-attribution.ts): docs/performance.md, "Memory per connection, attributed".
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attribute, type Attribution } from './lib/heap-attribution';
import { admin, databaseUrl, migrate } from './lib/database';
import { spawnChild, type Child } from './lib/ipc';

const N = Number(process.env.CONNECTIONS ?? 10_000);
const ROUNDS = Number(process.env.ROUNDS ?? 1);
const WARM = 500;
const WORKERS = 2;
const ORIGIN = 'http://bench.local';
const KiB = 1024;

interface Variant {
  name: string;
  target: 'bare' | 'library';
  env: Record<string, string>;
}

const VARIANTS: Variant[] = [
  { name: 'bare Socket.IO', target: 'bare', env: {} },
  { name: 'library', target: 'library', env: {} },
  { name: 'library, releaseHandshakeRequest', target: 'library', env: { BENCH_RELEASE_REQUEST: '1' } },
];

interface PerConnection {
  heap: number;
  rss: number;
  attribution?: Attribution;
}

async function measure(variant: Variant, databaseUrl: string, round: number): Promise<PerConnection> {
  const server = spawnChild(`${variant.target}-server`, `servers/${variant.target}-server`, {
    DATABASE_URL: databaseUrl,
    ORIGIN,
    ...variant.env,
  });
  const workers: Child[] = [];
  try {
    const { url } = await server.call('info', {}, 180_000);
    for (let i = 0; i < WORKERS; i++) workers.push(spawnChild(`clients-${i}`, 'workers/client-worker', { ORIGIN }));
    const connect = async (prefix: string, n: number) => {
      const share = Math.ceil(n / WORKERS);
      await Promise.all(
        workers.map((w, i) => {
          const users = Array.from({ length: Math.min(share, n - i * share) }, (_, j) => `${prefix}${round}-${i * share + j}`);
          return w.call('connect', { url, users }, 600_000);
        }),
      );
      const open: number = await server.call('sockets');
      if (open < n) throw new Error(`${variant.name}: ${open} sockets open, ${n} expected`);
    };
    await connect('warm-', WARM);
    const before: { rss: number; heapUsed: number } = await server.call('memory', {}, 300_000);
    await connect('idle-', N);
    const after: { rss: number; heapUsed: number } = await server.call('memory', {}, 300_000);
    const perConnection = { heap: (after.heapUsed - before.heapUsed) / N / KiB, rss: (after.rss - before.rss) / N / KiB };
    if (!process.env.ATTRIBUTE) return perConnection;
    const path = join(tmpdir(), `heap-per-socket-${process.pid}-${variant.target}-${round}.heapsnapshot`);
    await server.call('snapshot', { path }, 600_000);
    try {
      return { ...perConnection, attribution: attribute(path, WARM + N) };
    } finally {
      rmSync(path, { force: true });
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
  }
}

async function main() {
  const name = `inbox_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  try {
    await migrate(url);
    const results = new Map<string, PerConnection[]>(VARIANTS.map((v) => [v.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // One variant at a time, the order alternating by round (a busy moment of the machine falls on each in turn).
      for (const variant of round % 2 ? [...VARIANTS].reverse() : VARIANTS) {
        const r = await measure(variant, url, round);
        results.get(variant.name)!.push(r);
        console.log(`round ${round + 1}: ${variant.name}: heap ${r.heap.toFixed(2)} KiB, RSS ${r.rss.toFixed(2)} KiB per connection`);
        if (r.attribution) {
          const claimed = r.attribution.perConnection.reduce((s, c) => s + c.kib, 0);
          for (const c of r.attribution.perConnection)
            console.log(`  ${c.kib.toFixed(2).padStart(6)} KiB  ${c.name} (${c.anchors} objects)`);
          console.log(
            `  ${(r.heap - claimed).toFixed(2).padStart(6)} KiB  not attributed (the heap's growth per connection less the above)`,
          );
        }
      }
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const bare = results.get(VARIANTS[0].name)!;
    const [bareHeap, bareRss] = [mean(bare.map((r) => r.heap)), mean(bare.map((r) => r.rss))];
    console.log(`\n${N.toLocaleString('en-US')} idle connections, ${ROUNDS} round(s), per connection after a full GC (mean):`);
    console.log(
      `${'server'.padEnd(36)} ${'heap KiB'.padStart(9)} ${'÷ bare'.padStart(7)} ${'RSS KiB'.padStart(9)} ${'÷ bare'.padStart(7)}`,
    );
    for (const [variant, rs] of results) {
      const heap = mean(rs.map((r) => r.heap));
      const rss = mean(rs.map((r) => r.rss));
      console.log(
        `${variant.padEnd(36)} ${heap.toFixed(2).padStart(9)} ${(heap / bareHeap).toFixed(2).padStart(6)}× ` +
          `${rss.toFixed(2).padStart(9)} ${(rss / bareRss).toFixed(2).padStart(6)}×`,
      );
    }
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
