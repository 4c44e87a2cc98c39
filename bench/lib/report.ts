import { Row } from './result';

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

export function markdown(rows: Row[], machine: Machine, opts: { quick: boolean; date: string; seconds: number; notes: string[] }): string {
  const lines = [
    '# Benchmark results',
    '',
    `${opts.quick ? '**Quick mode** (CI sizes: proves the benchmark runs; the numbers mean little). ' : ''}` +
      `Run on ${opts.date}, took ${Math.round(opts.seconds)} s. Produced by \`npm run bench\`; see ` +
      '`docs/benchmarks.md` for what each scenario measures. Ratio = library ÷ baseline.',
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
  if (opts.notes.length) lines.push('## Notes', '', ...opts.notes.map((n) => `- ${n}`), '');
  return lines.join('\n');
}
