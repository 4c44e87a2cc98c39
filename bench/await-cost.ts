/**
 * `node -r ts-node/register/transpile-only bench/await-cost.ts` (any Node binary)
 *
 * What one `await` costs (CPU ns, median of 5 loops of 2,000,000 awaits of a resolved value)
 * before any AsyncLocalStorage run, after one, and inside one: on Node 20 the first run turns on
 * promise hooks that every promise of the process then pays for (the OpenTelemetry context
 * manager's cost to a traced host, docs/observability.md); Node 24's AsyncContextFrame needs none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

async function loop(n: number): Promise<number> {
  let sum = 0;
  for (let i = 0; i < n; i++) sum += await i;
  return sum;
}

async function measure(label: string): Promise<void> {
  const n = 2_000_000;
  await loop(n / 10);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    await loop(n);
    const used = process.cpuUsage(start);
    runs.push(((used.user + used.system) * 1000) / n);
  }
  runs.sort((a, b) => a - b);
  console.log(`${process.version} ${label}: ${runs[2].toFixed(0)} ns per await (min ${runs[0].toFixed(0)})`);
}

async function main(): Promise<void> {
  await measure('no AsyncLocalStorage run');
  const als = new AsyncLocalStorage<object>();
  als.run({}, () => undefined);
  await measure('after one als.run');
  await als.run({}, () => measure('inside als.run'));
}

void main();
