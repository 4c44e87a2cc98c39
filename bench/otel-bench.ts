/**
 * `npx ts-node --transpile-only bench/otel-bench.ts [--rounds 3] [--modes none,off,sampled,sampled+always] [--only 2] [--trees a,b] [--nodes default,DIR] [--lock FILE]`
 *
 * Issue 26's cost measure, end to end: `npm run bench -- --only <scenarios>` with the
 * OpenTelemetry SDK (BENCH_OTEL, bench/servers/otel-sdk.ts) and without (`none`), the modes
 * alternating within each round so that all see the same load on a shared machine, `--rounds`
 * times; `--trees` runs each mode in other checkouts too (e.g. the previous commit's, made with
 * `git archive`, node_modules linked), and `--nodes` on other Node binaries. Prints every run (throughput, server CPU per
 * notification, p50/p99 latency when scenario 1 runs) with the load average around it, then
 * the medians by tree and mode and their ratio to `none`. `--lock FILE`: each run holds that
 * file's lock (`flock`), so that on a shared machine no other benchmark runs during a run, and
 * others may run between them (a whole series takes longer than anyone should hold the lock).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const rounds = Number(arg('--rounds', '3'));
const modes = arg('--modes', 'none,off,sampled,sampled+always').split(',');
const only = arg('--only', '2');
const trees = arg('--trees', resolve(__dirname, '..')).split(',');
const lock = arg('--lock', '');
/** `--nodes DIR,DIR`: each a directory holding a `node` binary, put first on PATH (`default`: this one's). */
const nodes = arg('--nodes', 'default').split(',');

interface Row {
  scenario: string;
  metric: string;
  library: number;
}
type Run = Record<string, number>;

/** The library's side of the rows this run reports, by short name. */
function pick(rows: Row[]): Run {
  const run: Run = {};
  for (const r of rows) {
    if (r.scenario.startsWith('2.') && r.metric === 'stored + delivered') run['notifications/s'] ??= r.library;
    if (r.scenario.startsWith('2.') && r.metric === 'server CPU per notification') run['CPU µs/notification'] = r.library;
    if (r.scenario.startsWith('1.') && r.metric === 'p50 latency') run['p50 ms'] ??= r.library;
    if (r.scenario.startsWith('1.') && r.metric === 'p99 latency') run['p99 ms'] ??= r.library;
  }
  return run;
}

function once(tree: string, mode: string, node: string): Run {
  const out = mkdtempSync(join(tmpdir(), 'otel-bench-'));
  const env = { ...process.env };
  if (mode === 'none') delete env.BENCH_OTEL;
  else env.BENCH_OTEL = mode;
  // npm, ts-node and the servers (spawned with process.execPath) all run on that node.
  if (node !== 'default') env.PATH = `${node}:${env.PATH}`;
  const bench = ['npm', 'run', 'bench', '--', '--only', only, '--out', out];
  // With the lock, the load average is read inside it, right before and after the run itself.
  const command = lock
    ? ['flock', lock, 'sh', '-c', 'cat /proc/loadavg >&3; "$@"; s=$?; cat /proc/loadavg >&3; exit $s', 'sh', ...bench]
    : bench;
  const before = loadavg()[0];
  try {
    const run = spawnSync(command[0], command.slice(1), { cwd: tree, env, stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
    if (run.status !== 0) throw new Error(`${command.join(' ')}: exit ${run.status}`);
    const [inBefore, inAfter] = String(run.output[3] ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => Number(line.split(' ')[0]));
    const { rows } = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { rows: Row[] };
    return { ...pick(rows), 'load before': inBefore ?? before, 'load after': inAfter ?? loadavg()[0] };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** A tree and the Node version it runs on, as the results name them. */
function label(tree: string, node: string): string {
  if (node === 'default') return `${tree} (${process.version})`;
  const version = spawnSync(join(node, 'node'), ['-v'], { encoding: 'utf8' }).stdout.trim();
  return `${tree} (${version})`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const fmt = (run: Run) =>
  Object.entries(run)
    .map(([k, v]) => `${k} ${v.toFixed(k.startsWith('load') ? 1 : 2)}`)
    .join(', ');

function main(): void {
  const runs = new Map<string, Run[]>();
  for (let round = 0; round < rounds; round++) {
    // Each round starts with a different configuration, so none always follows the same one.
    const configs = trees.flatMap((tree) => nodes.flatMap((node) => modes.map((mode) => ({ tree, node, mode }))));
    const order = configs.map((_, i) => configs[(i + round) % configs.length]);
    for (const { tree, node, mode } of order) {
      const key = `${label(tree, node)} BENCH_OTEL=${mode}`;
      const run = once(tree, mode, node);
      runs.set(key, [...(runs.get(key) ?? []), run]);
      console.log(`round ${round + 1} ${key}: ${fmt(run)}`);
    }
  }
  console.log('\nmedians:');
  for (const tree of trees.flatMap((t) => nodes.map((node) => label(t, node)))) {
    const none = runs.get(`${tree} BENCH_OTEL=${modes[0]}`)!;
    for (const mode of modes) {
      const xs = runs.get(`${tree} BENCH_OTEL=${mode}`)!;
      const parts = Object.keys(xs[0])
        .filter((k) => !k.startsWith('load'))
        .map((k) => {
          const m = median(xs.map((x) => x[k]));
          const base = median(none.map((x) => x[k]));
          return `${k} ${m.toFixed(2)}${mode === modes[0] ? '' : ` (${((m / base - 1) * 100).toFixed(1)}%)`}`;
        });
      console.log(`  ${tree} BENCH_OTEL=${mode}: ${parts.join(', ')}`);
    }
  }
}

main();
