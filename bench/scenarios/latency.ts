import { Clients, Env, startServer, Target, users } from '../lib/harness';
import { Row, ScenarioResult } from '../lib/result';
import { summarize } from '../lib/stats';

/**
 * 1. Latency, one instance: `notify` (stored, committed, emitted) to receipt in a client, with
 * `latencyClients` connected, at a steady rate; baseline: bare Socket.IO emitting the same
 * payload to the same user rooms. 6. The same through Redis with two instances: clients split
 * between A and B, all sends from A, so half the deliveries cross Redis.
 */
export async function measureLatency(
  env: Env,
  target: Target,
  instances: 1 | 2,
): Promise<{ latencies: number[]; redisAdapter: string }> {
  const { latencyClients, latencyCount, latencyRate } = env.sizes;
  const redis = instances === 2;
  const servers = await Promise.all(Array.from({ length: instances }, () => startServer(env, target, { redis })));
  const clients = Clients.start(env);
  try {
    const who = users(`lat${instances}-`, latencyClients);
    await clients.connect(
      servers.map((s) => s.url),
      who,
    );
    env.log(`  ${target}${redis ? ` ×2 (redis: ${servers[0].redisAdapter})` : ''}: ${latencyClients} clients connected, sending ${latencyCount} at ${latencyRate}/s`);
    await clients.reset();
    await servers[0].child.call('latency', { users: who, count: latencyCount, rate: latencyRate });
    const { received, latencies } = await clients.collect(latencyCount, 30_000);
    if (received < latencyCount) throw new Error(`${target}: ${received} of ${latencyCount} notifications arrived`);
    return { latencies, redisAdapter: servers[0].redisAdapter };
  } finally {
    await clients.stop();
    await Promise.all(servers.map((s) => s.child.stop()));
  }
}

export function latencyRows(scenario: string, lib: number[], bare: number[], baselineName: string): Row[] {
  const l = summarize(lib);
  const b = summarize(bare);
  const row = (metric: 'p50' | 'p90' | 'p99' | 'max', target?: Row['target']): Row => ({
    scenario,
    metric: `${metric} latency`,
    unit: 'ms',
    library: l[metric],
    baseline: b[metric],
    baselineName,
    better: 'lower',
    target,
  });
  const limit = 2 * b.p99 + 2;
  return [
    row('p50'),
    row('p90'),
    row('p99', { text: `≤ 2× bare p99 + 2 ms (${limit.toFixed(1)} ms)`, met: l.p99 <= limit }),
    row('max'),
  ];
}

export async function latencyOneInstance(env: Env): Promise<ScenarioResult> {
  const { latencies: lib } = await measureLatency(env, 'library', 1);
  const { latencies: bare } = await measureLatency(env, 'bare', 1);
  return {
    rows: latencyRows(`1. Latency, ${env.sizes.latencyClients} clients`, lib, bare, 'bare Socket.IO room emit'),
    samples: { 'library, 1 instance': lib, 'bare Socket.IO, 1 instance': bare },
  };
}

export async function latencyTwoInstances(env: Env): Promise<ScenarioResult> {
  const { latencies: lib, redisAdapter } = await measureLatency(env, 'library', 2);
  const { latencies: bare } = await measureLatency(env, 'bare', 2);
  return {
    notes: [
      redisAdapter === 'library'
        ? 'Scenario 6: the Redis adapter was wired by the library (`redis: { url }` option).'
        : 'Scenario 6: this build of the library does not wire its `redis` option yet, so the bench ' +
          'harness installed `@socket.io/redis-adapter` on the library\'s namespace itself (same ' +
          'adapter, same settings as the baseline). Re-run once the option is implemented.',
    ],
    rows: latencyRows(`6. Two instances via Redis`, lib, bare, 'bare Socket.IO + Redis adapter'),
    samples: { 'library, 2 instances + Redis': lib, 'bare Socket.IO, 2 instances + Redis': bare },
  };
}
