import { Clients, type Env, inTurn, type Server, startServer, users } from '../lib/harness';
import { type Row, type ScenarioResult } from '../lib/result';
import { median, summarize } from '../lib/stats';
import { throughputRound } from './throughput';

/**
 * 9. What an OpenTelemetry SDK costs the library's hot path (issue 26), not in the default run
 * (`--only 9`). One library server per mode, all up together against the same database, each
 * with its own clients and users; `OTEL_ROUNDS` rounds, each running every mode in turn (in
 * `inTurn`'s orders), so that what the machine does meanwhile falls on all of them:
 * scenario 1's paced latency, then scenario 2's closed-loop throughput. Modes are BENCH_OTEL's
 * values (bench/servers/otel-sdk.ts), `none` without an SDK; `--otel-modes` picks them
 * (default: none, off, sampled, sampled+always). Each mode is compared with `none` (the issue's
 * "without") and with `off` (the SDK installed, the library's scope switched off: what any
 * traced Node host pays whatever the library records), by its totals and by the median of its
 * per-round ratios, the steadier on a shared machine.
 */
const OTEL_ROUNDS = { full: 10, quick: 2 };

interface ModeSide {
  mode: string;
  server: Server;
  clients: Clients;
  users: string[];
}

interface Round {
  rate: number;
  cpuUs: number;
  p50: number;
}

export async function openTelemetryScenario(env: Env, modes: string[]): Promise<ScenarioResult> {
  // A mode twice would share one record and pair its rounds wrongly.
  if (modes.length === 0 || new Set(modes).size !== modes.length) throw new Error(`--otel-modes: distinct modes, got ${modes.join(',')}`);
  const { latencyClients, latencyCount, latencyRate, throughputCount, throughputConcurrency } = env.sizes;
  const rounds = env.sizes.quick ? OTEL_ROUNDS.quick : OTEL_ROUNDS.full;
  const latencyPerRound = Math.ceil(latencyCount / 4);
  const throughputPerRound = Math.ceil(throughputCount / 3);
  const sides: ModeSide[] = [];
  const byMode = new Map<string, { rounds: Round[]; latencies: number[]; n: number; ms: number; cpuMs: number }>();
  try {
    for (const [i, mode] of modes.entries()) {
      // `none` clears a BENCH_OTEL the bench itself may have been started with.
      const server = await startServer(env, 'library', { variables: { BENCH_OTEL: mode === 'none' ? '' : mode } });
      const side = { mode, server, clients: Clients.start(env), users: users(`otel${i}-`, latencyClients) };
      sides.push(side);
      await side.clients.connect([server.url], side.users);
      byMode.set(mode, { rounds: [], latencies: [], n: 0, ms: 0, cpuMs: 0 });
    }
    env.log(
      `  modes ${modes.join(', ')}: ${rounds} rounds, each mode in turn: ${latencyPerRound} at ${latencyRate}/s, ` +
        `then ${throughputPerRound} from ${throughputConcurrency} callers`,
    );
    for (let round = 0; round < rounds; round++) {
      for (const side of inTurn(round, sides)) {
        const m = byMode.get(side.mode)!;
        await side.clients.reset();
        await side.server.child.call('latency', { users: side.users, count: latencyPerRound, rate: latencyRate });
        const lat = await side.clients.collect(latencyPerRound, 30_000);
        if (lat.received < latencyPerRound) throw new Error(`${side.mode}: ${lat.received} of ${latencyPerRound} arrived`);
        const { ms, cpuMs } = await throughputRound(
          side.mode,
          side.server,
          side.clients,
          side.users,
          throughputPerRound,
          throughputConcurrency,
        );
        m.rounds.push({
          rate: throughputPerRound / (ms / 1000),
          cpuUs: (cpuMs * 1000) / throughputPerRound,
          p50: summarize(lat.latencies).p50,
        });
        m.latencies.push(...lat.latencies);
        m.n += throughputPerRound;
        m.ms += ms;
        m.cpuMs += cpuMs;
      }
    }
  } finally {
    for (const side of sides) {
      await side.clients.stop();
      await side.server.child.stop();
    }
  }

  const scenario = `9. OpenTelemetry SDK, ${rounds} rounds`;
  const rows: Row[] = [];
  const notes: string[] = [];
  for (const base of ['none', 'off'].filter((b) => byMode.has(b))) {
    const b = byMode.get(base)!;
    const baselineName = base === 'none' ? 'the library without an SDK' : 'the SDK installed, the library switched off (`off`)';
    for (const mode of modes.filter((m) => m !== base && m !== 'none')) {
      const m = byMode.get(mode)!;
      // One-sided: no more than 5% slower (a mode that comes out faster is within it).
      const within = (l: number, bv: number, better: Row['better']): NonNullable<Row['target']> => {
        const limit = better === 'higher' ? 0.95 * bv : 1.05 * bv;
        return { text: 'within 5%', met: better === 'higher' ? l >= limit : l <= limit, limit };
      };
      const rate = { l: m.n / (m.ms / 1000), b: b.n / (b.ms / 1000) };
      const lat = { l: summarize(m.latencies), b: summarize(b.latencies) };
      const row = (metric: string, unit: string, l: number, bv: number, better: Row['better'], target = false): Row => ({
        scenario,
        metric: `${mode}: ${metric}`,
        unit,
        library: l,
        baseline: bv,
        baselineName,
        better,
        ...(target ? { target: within(l, bv, better) } : {}),
      });
      // The target: the library's modes against no SDK (`off` is the SDK's cost alone).
      const target = base === 'none' && !mode.startsWith('off');
      rows.push(
        row('notifications/s (scenario 2)', 'notifications/s', rate.l, rate.b, 'higher', target),
        row('server CPU per notification (scenario 2)', 'µs', (m.cpuMs * 1000) / m.n, (b.cpuMs * 1000) / b.n, 'lower'),
        row('p50 latency (scenario 1)', 'ms', lat.l.p50, lat.b.p50, 'lower', target),
        row('p99 latency (scenario 1)', 'ms', lat.l.p99, lat.b.p99, 'lower'),
      );
      // The same round's runs side by side: their ratio moves less than the totals when the machine's load does.
      const paired = (k: keyof Round) => median(m.rounds.map((r, i) => r[k] / b.rounds[i][k]));
      notes.push(
        `Scenario 9, ${mode} ÷ ${base}, median of the ${rounds} rounds' ratios: notifications/s ${paired('rate').toFixed(3)}×, ` +
          `CPU per notification ${paired('cpuUs').toFixed(3)}×, p50 latency ${paired('p50').toFixed(3)}×.`,
      );
    }
  }
  return { rows, notes };
}
