/**
 * `npm run bench` (add `-- --quick` or BENCH_QUICK=1 for the CI sizes; `--out DIR` to write
 * the results elsewhere than bench/; `--connections` for scenario 8 at 100,000): every scenario
 * on the library and on its baseline, in one run, then bench/RESULTS.md, bench/results.json,
 * bench/latency.svg and bench/connections.svg. Scenario 9 (the OpenTelemetry SDK's cost) runs
 * only when asked: `--only 9 [--otel-modes none,off,sampled,sampled+always]`.
 */
import { execSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from 'pg';
import { createClient } from 'redis';
import { cdfSvg } from './lib/chart';
import { admin, databaseUrl, migrate } from './lib/database';
import { type Env, FULL, QUICK } from './lib/harness';
import { markdown, type Machine, ratio } from './lib/report';
import { type Row, type ScenarioResult } from './lib/result';
import { catchUpScenario } from './scenarios/catch-up';
import { connectionsScenario } from './scenarios/connections';
import { memoryAndBroadcast } from './scenarios/fleet';
import { sqlProducerScenario } from './scenarios/sql-producer';
import { latencyOneInstance, latencyTwoInstances } from './scenarios/latency';
import { openTelemetryScenario } from './scenarios/opentelemetry';
import { throughput } from './scenarios/throughput';

const args = process.argv.slice(2);
const quick = args.includes('--quick') || process.env.BENCH_QUICK === '1';
const outIndex = args.indexOf('--out');
const outDir = outIndex >= 0 ? resolve(args[outIndex + 1]) : __dirname;
/** `--only 2,3` runs those scenarios alone (while working on one); results then go nowhere by default. */
const onlyIndex = args.indexOf('--only');
const only = onlyIndex >= 0 ? args[onlyIndex + 1].split(',') : null;
/**
 * `--connections [N]`: scenario 8 with N connections per side (100,000 without N) instead of the
 * mode's (10,000 in the full run, 300 in the quick one); 100,000 take about 15 minutes.
 */
const connectionsIndex = args.indexOf('--connections');
const connectionsArg = connectionsIndex >= 0 ? args[connectionsIndex + 1] : undefined;
const connections =
  connectionsIndex < 0
    ? undefined
    : connectionsArg === undefined || connectionsArg.startsWith('--')
      ? 100_000
      : Number(connectionsArg.replace(/_/g, ''));
if (connections !== undefined && !(Number.isInteger(connections) && connections > 0)) {
  throw new Error(`--connections takes a positive number, got ${connectionsArg}`);
}

/** `--otel-modes none,off,sampled`: scenario 9's modes (BENCH_OTEL's values; `none`, no SDK). */
const otelModesIndex = args.indexOf('--otel-modes');
const otelModes =
  otelModesIndex >= 0 ? (args[otelModesIndex + 1] ?? '').split(',').filter(Boolean) : ['none', 'off', 'sampled', 'sampled+always'];

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

const started = Date.now();
const log = (msg: string) => console.log(`[bench ${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s] ${msg}`);

/** A database of its own (not `inbox_test_*`, which the test suite's setup drops), migrated as a host does. */
async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `inbox_bench_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  await migrate(url);
  // The baselines' plain table: our columns and indexes, its own id sequence, no library logic.
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE TABLE bench_plain_notification (LIKE inbox_notification INCLUDING ALL)`);
    await c.query(`CREATE SEQUENCE bench_plain_notification_id_seq OWNED BY bench_plain_notification.id`);
    await c.query(`ALTER TABLE bench_plain_notification ALTER id SET DEFAULT nextval('bench_plain_notification_id_seq')`);
  } finally {
    await c.end();
  }
  return { url, drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined) };
}

async function machine(databaseUrl: string): Promise<Machine> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  const { rows } = await c.query('SHOW server_version');
  await c.end();
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  const info = await redis.info('server');
  await redis.quit();
  return {
    cpu: cpus()[0]?.model.trim() ?? 'unknown CPU',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    postgres: String(rows[0].server_version).split(' ')[0],
    redis: /redis_version:(\S+)/.exec(info)?.[1] ?? '?',
    loadAverage: loadavg()
      .map((x) => x.toFixed(2))
      .join(' '),
  };
}

const SCENARIOS: [string, (env: Env) => Promise<ScenarioResult>][] = [
  ['1. latency, one instance', latencyOneInstance],
  ['2. throughput', throughput],
  // Before the broadcasts, which every user (the catch-up's too) would otherwise also catch up.
  ['4. catch-up', catchUpScenario],
  ['3. broadcast and 5. memory', memoryAndBroadcast],
  ['6. two instances through Redis', latencyTwoInstances],
  ['7. SQL producer', sqlProducerScenario],
  ['8. connections at scale', connectionsScenario],
  // Not in the default run: it holds a server per mode, and answers one issue's question.
  ['9. OpenTelemetry SDK (only with --only 9)', (env) => openTelemetryScenario(env, otelModes)],
];

/**
 * Each server holds up to `fleetClients` sockets (and each worker its share). Node raises its
 * own soft open-file limit to the hard one at start-up, so the hard limit is what counts.
 */
function checkFileLimit(needed: number): void {
  const hard = execSync('ulimit -Hn', { shell: '/bin/sh', encoding: 'utf8' }).trim();
  if (hard !== 'unlimited' && Number(hard) < needed) {
    throw new Error(`the hard open-file limit is ${hard}, this run needs ${needed}: raise \`ulimit -Hn\``);
  }
}

async function main() {
  const sizes = { ...(quick ? QUICK : FULL), ...(connections ? { connections } : {}) };
  log(`${quick ? 'quick' : 'full'} run; results to ${outDir}`);
  checkFileLimit(sizes.fleetClients + 1000);
  const db = await createDatabase();
  const env: Env = { sizes, databaseUrl: db.url, redisUrl: REDIS_URL, origin: 'http://bench.test', log };
  const rows: Row[] = [];
  const samples: Record<string, number[]> = {};
  const notes: string[] = [];
  const charts: NonNullable<ScenarioResult['charts']> = [];
  try {
    const m = await machine(db.url);
    const chosen = SCENARIOS.filter(([n]) => (only ? only.some((o) => n.includes(`${o}.`)) : !n.startsWith('9.')));
    for (const [name, run] of chosen) {
      log(name);
      const result = await run(env);
      rows.push(...result.rows);
      Object.assign(samples, result.samples);
      notes.push(...(result.notes ?? []));
      charts.push(...(result.charts ?? []));
      for (const note of result.notes ?? []) log(`  ${note}`);
      for (const r of result.rows) {
        log(
          `  → ${r.metric}: library ${r.library.toFixed(2)} vs ${r.baseline.toFixed(2)} ${r.unit} (${ratio(r).toFixed(2)}×)` +
            (r.target ? ` target ${r.target.text}: ${r.target.met ? 'met' : 'MISSED'}` : ''),
        );
      }
    }
    rows.sort((a, b) => a.scenario.localeCompare(b.scenario, 'en', { numeric: true }));
    if (only && outIndex < 0) return;
    mkdirSync(outDir, { recursive: true });
    const seconds = (Date.now() - started) / 1000;
    writeFileSync(
      join(outDir, 'RESULTS.md'),
      markdown(rows, m, { quick, date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', seconds, notes, charts }),
    );
    writeFileSync(join(outDir, 'latency.svg'), cdfSvg('Latency CDF: nestjs-inbox vs bare Socket.IO', samples));
    for (const c of charts) writeFileSync(join(outDir, c.file), c.svg);
    writeFileSync(join(outDir, 'results.json'), JSON.stringify({ quick, machine: m, rows, notes }, null, 2) + '\n');
    log(`wrote RESULTS.md, results.json and latency.svg in ${Math.round(seconds)} s`);
  } finally {
    await db.drop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
