/**
 * `npx ts-node --transpile-only bench/telemetry-calls.ts [--pairs 7] [--calls 200000] [--impl a.ts,b.ts]`
 *
 * What the library's telemetry calls cost per notification, with the OpenTelemetry SDK
 * registered (bench/servers/otel-sdk.ts: every span sampled, metrics aggregated, the
 * AsyncLocalStorage context manager) and without, in the shape of bench 2's hot path: 500
 * concurrent callers, each `notify` one row through `InboxTelemetry.notify`, awaiting a
 * batched write (one promise per 100 calls, as the writer batches), then `recordStored` and
 * `recordDelivered`. Nothing else runs, so the difference is the telemetry's alone, steadier
 * on a shared machine than the whole bench. Each measurement is its own process (an SDK is
 * registered for good); the configurations alternate, `--pairs` times, and the medians of
 * CPU µs per call are printed. `--modes none,off,sampled,sampled+always` (the default): BENCH_OTEL's values (`none`: no SDK;
 * a `+always` or `+withParent` suffix, e.g. `sampled+always`, makes the telemetry with that
 * `notifySpans`, without one the library's default, `'withParent'`, under which these root calls
 * start no span). `--impl` compares other copies of inbox-telemetry.ts (e.g. the
 * previous commit's, `git show HEAD~1:libs/nestjs-inbox/src/observability/inbox-telemetry.ts`).
 */
import { context } from '@opentelemetry/api';
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { NOTIFICATIONS_DEFAULTS } from '../libs/nestjs-inbox/src/notifications.options';
import { now } from './lib/clock';

const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);

interface TelemetryLike {
  notify<T>(door: string, kind: string, recipients: number, inTransaction: boolean, fn: (ctx: unknown) => Promise<T>): Promise<T>;
  recordStored(door: string, kind: string, stored: number, requested: number): void;
  recordDelivered(
    door: string,
    rows: { user_id: string | null; topic: string | null; created_at: Date }[],
    committedAt?: number,
    ctx?: unknown,
  ): void;
}

async function child(impl: string, mode: string, calls: number): Promise<void> {
  const [sdk, notifySpans = NOTIFICATIONS_DEFAULTS.notifySpans] = mode.split('+');
  if (sdk !== 'none') {
    (await import('./servers/otel-sdk')).registerOpenTelemetrySdk(sdk);
    // AsyncLocalStorage's promise hooks on, as a traced host has them from its first request's
    // span: without it a `+withParent` run, which records no span here, would never export, so
    // never turn them on, and would leave out a cost every host with tracing pays.
    context.with(context.active(), () => undefined);
  }
  const { InboxTelemetry } = (await import(impl)) as { InboxTelemetry: new (options: { notifySpans: string }) => TelemetryLike };
  const telemetry = new InboxTelemetry({ notifySpans });
  // The writer's batch: one promise shared by up to 100 calls, resolved on the next turn.
  let batch: Promise<void> | null = null;
  let inBatch = 0;
  const write = () => {
    if (!batch || inBatch === 100) {
      inBatch = 0;
      batch = new Promise((r) => setImmediate(r));
    }
    inBatch++;
    return batch;
  };
  const one = (i: number) =>
    telemetry.notify('service', 'direct', 1, false, async (ctx) => {
      await write();
      const row = { user_id: `u${i}`, topic: null, created_at: new Date() };
      telemetry.recordStored('service', 'direct', 1, 1);
      telemetry.recordDelivered('service', [row], now(), ctx);
      return row;
    });
  const run = async (n: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 500 }, async () => {
        while (next < n) await one(next++);
      }),
    );
  };
  await run(calls / 10); // warm-up
  const start = process.cpuUsage();
  await run(calls);
  const used = process.cpuUsage(start);
  process.stdout.write(String((used.user + used.system) / calls));
  process.exit(0);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
  const pairs = Number(arg('--pairs', '7'));
  const calls = Number(arg('--calls', '200000'));
  const impls = arg('--impl', resolve(__dirname, '../libs/nestjs-inbox/src/observability/inbox-telemetry.ts')).split(',');
  const modes = arg('--modes', 'none,off,sampled,sampled+always').split(',');
  const configs = impls.flatMap((impl) => modes.map((mode) => ({ impl, mode })));
  const results = new Map<string, number[]>(configs.map((c) => [`${c.impl} ${c.mode}`, []]));
  const load = [loadavg()[0]];
  for (let p = 0; p < pairs; p++) {
    for (const { impl, mode } of configs) {
      const child = ['-r', 'ts-node/register/transpile-only', __filename, '--child', impl, mode, String(calls)];
      results.get(`${impl} ${mode}`)!.push(Number(execFileSync(process.execPath, child, { encoding: 'utf8' })));
    }
    load.push(loadavg()[0]);
  }
  console.log(`load average (1 min) during the runs: ${load.map((l) => l.toFixed(1)).join(', ')}`);
  for (const impl of impls) {
    console.log(impl);
    const none = results.get(`${impl} ${modes[0]}`)!;
    for (const mode of modes) {
      const xs = results.get(`${impl} ${mode}`)!;
      const diff = mode === modes[0] ? '' : `; over ${modes[0]}, pairwise median +${median(xs.map((x, i) => x - none[i])).toFixed(2)} µs`;
      console.log(`  BENCH_OTEL=${mode}: ${xs.map((x) => x.toFixed(2)).join(', ')} µs/call, median ${median(xs).toFixed(2)}${diff}`);
    }
  }
}

if (args[0] === '--child') void child(args[1], args[2], Number(args[3]));
else main();
