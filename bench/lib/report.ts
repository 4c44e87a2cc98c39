import { type Row } from './result';

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  postgres: string;
  redis: string;
  loadAverage: string;
}

const fmt = (v: number) =>
  !Number.isFinite(v) ? '–' : Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2);

/** The ratio as the target reads it: library ÷ baseline, whichever direction is better. */
export const ratio = (r: Row) => r.library / r.baseline;

/**
 * What the library does that its baseline does not, by scenario number: printed under a missed
 * target, next to the measured shortfall. These are the known structural costs; the run's own
 * rows (the INSERT floor, CPU per notification) show how much each weighs on this machine.
 */
const WHY: Record<string, string> = {
  '1':
    'the library waits for its INSERT to commit before it emits (persist first): every batch needs a Postgres ' +
    'backend to be scheduled and the WAL flushed, and its INSERT does more than the plain one (ids drawn first, ' +
    'the transaction horizon that keeps the catch-up exact, dedupe, RETURNING). On a small busy machine the tail ' +
    'of that round trip is most of the p99 budget: compare the one-row INSERT + commit rows.',
  '6': 'as in 1: every notification is committed to Postgres before it is published through Redis; the Redis hop is the same on both sides.',
  '2':
    "the emit itself costs what the bare emit costs (same room emit, one frame); the rest is the library's own, " +
    "none above 15% of it: garbage collection, the INSERT's parameters and reply, the service's glue, validation, " +
    'the unread bookkeeping; Postgres (the INSERT, the badge recounts) runs on the same two cores. See docs/performance.md.',
  '3': 'a broadcast is stored (one INSERT and commit) before it is emitted; the emit itself is the same `nsp.emit`.',
  '4': 'the connection runs three queries (topics, catch-up, unread count) before `notifications:synced`.',
  '5':
    'what each socket holds beyond bare: its user, cursor and catch-up state in `socket.data`, and entries in the ' +
    'badge and delivery logs (docs/performance.md, Memory per connection).',
  '8:RSS per connection':
    'heap is within target; the RSS above it is allocator memory the connect storm leaves (each library connection ' +
    'is sent its newest page and its catch-up rows are parsed), not objects held per socket (docs/performance.md).',
  '8:heap per connection': 'as in 5 (docs/performance.md, Memory per connection).',
  '8:time to connect all':
    'each library handshake also reads its topics, badge and newest page in Postgres (coalesced, ≤ 200 sockets per ' +
    'statement) on the same two cores and is sent about ten frames; with six instances, twelve catch-up statements ' +
    'contend, and the longer connect phase counts more pings per connection (docs/performance.md, What remains).',
  '8:connections held': 'see the notes of scenario 8 for what ran out.',
};

export function markdown(
  rows: Row[],
  machine: Machine,
  opts: { quick: boolean; date: string; seconds: number; notes: string[]; charts?: { file: string; alt: string }[] },
): string {
  const lines = [
    '# Benchmark results',
    '',
    `${opts.quick ? '**Quick mode** (CI sizes: proves the benchmark runs; the numbers mean little). ' : ''}` +
      `Run on ${opts.date}, took ${Math.round(opts.seconds)} s. Produced by \`npm run bench\`; see ` +
      'docs/benchmarks.md for what each scenario measures. Ratio = library ÷ baseline.',
    '',
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB RAM; Node ${machine.node}; ` +
      `PostgreSQL ${machine.postgres}; Redis ${machine.redis}; load average at start ${machine.loadAverage}.`,
    '',
    '| scenario | metric | library | baseline | baseline is | ratio | target | met |',
    '|---|---|---:|---:|---|---:|---|:-:|',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.metric} | ${fmt(r.library)} ${r.unit} | ${fmt(r.baseline)} ${r.unit} | ${r.baselineName} | ` +
        `${ratio(r).toFixed(2)}× | ${r.target?.text ?? ''} | ${r.target ? (r.target.met ? 'yes' : '**no**') : ''} |`,
    );
  }
  lines.push('', '![latency CDF, library vs baseline](latency.svg)', '');
  for (const c of opts.charts ?? []) lines.push(`![${c.alt}](${c.file})`, '');
  const missed = rows
    .filter((r) => r.target && !r.target.met)
    .map((r) => {
      const by = Math.abs(r.library - r.target!.limit);
      const pct = ((by / r.target!.limit) * 100).toFixed(0);
      return (
        `${r.scenario}, ${r.metric}: target ${r.target!.text} missed by ${fmt(by)} ${r.unit} (${pct}%): ` +
        (WHY[`${r.scenario.split('.')[0]}:${r.metric}`] ?? WHY[r.scenario.split('.')[0]] ?? '')
      );
    });
  const notes = [...missed, ...opts.notes];
  if (notes.length) lines.push('## Notes', '', ...notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
