/**
 * `npx ts-node --transpile-only bench/otel-calls.ts [--calls 300000] [filter]`
 *
 * What single OpenTelemetry SDK calls cost (CPU ns per call, median of 5 runs in one process),
 * the ones the library makes per notification and their alternatives, to tell which of
 * bench/telemetry-calls.ts's microseconds are ours to save and which are the SDK's floor: a
 * histogram `record` with the library's attribute set (the SDK hashes the set on every call)
 * and without one, and under a View that drops it; a `Counter.add` (what an observable counter's in-place total replaces); the
 * `inbox.notify` span dropped by ParentBased(TraceIdRatio 10%) or recorded, its attributes given
 * at start or set once it records. Providers are made here, not registered (the API's globals
 * are set once per process), with the AsyncLocalStorage context manager a Node host registers.
 */
import { context, ROOT_CONTEXT, type Attributes } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { AggregationType, MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { hostname } from 'node:os';

const args = process.argv.slice(2);
const calls = args.includes('--calls') ? Number(args[args.indexOf('--calls') + 1]) : 300_000;
const filter = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--calls') ?? '';

class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
const meter = new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] }).getMeter('bench');
const histogram = meter.createHistogram('inbox.delivery.latency', { unit: 'ms' });
/**
 * The same histogram under a host's View (here its buckets, as hosts set them for a latency):
 * the SDK then gives the measurement to the View's attributes processor with a context, looking
 * up the active one on every `record` that passes none.
 */
const viewed = new MeterProvider({
  readers: [new PrometheusExporter({ preventServerStart: true })],
  views: [
    {
      instrumentName: 'inbox.delivery.latency',
      aggregation: { type: AggregationType.EXPLICIT_BUCKET_HISTOGRAM, options: { boundaries: [1, 5, 25, 100] } },
    },
  ],
})
  .getMeter('bench')
  .createHistogram('inbox.delivery.latency', { unit: 'ms' });
/** The same histogram dropped by a host's View (AggregationType.DROP): the SDK still hashes each record's attributes. */
const droppedByView = new MeterProvider({
  readers: [new PrometheusExporter({ preventServerStart: true })],
  views: [{ instrumentName: 'inbox.delivery.latency', aggregation: { type: AggregationType.DROP } }],
})
  .getMeter('bench')
  .createHistogram('inbox.delivery.latency', { unit: 'ms' });
const caller = context.active();
const counter = meter.createCounter('inbox.deliveries');
const tracer = (sampler?: Sampler) =>
  new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] }).getTracer('bench');
const dropped = tracer(new ParentBasedSampler({ root: new AlwaysOffSampler() }));
const tenth = tracer(new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }));
const every = tracer();

/** The library's attribute sets: the histogram's (made once per door and kind) and the notify span's. */
const series: Attributes = { door: 'service', kind: 'direct', instance: `${hostname()}:${process.pid}` };
const spanAttributes = () => ({ door: 'service', kind: 'direct', 'inbox.recipients': 1, 'inbox.in_transaction': false });
const total = { value: 0 };

const cases: [string, (i: number) => void][] = [
  ['histogram.record, the library attribute set (3)', (i) => histogram.record(i % 50, series)],
  ['histogram.record, no attributes', (i) => histogram.record(i % 50)],
  ["histogram.record under a host's View, no context", (i) => viewed.record(i % 50, series)],
  ["histogram.record under a host's View, the caller's context", (i) => viewed.record(i % 50, series, caller)],
  ["histogram.record dropped by a host's View (DROP)", (i) => droppedByView.record(i % 50, series)],
  ['counter.add, 3 attributes', () => counter.add(1, series)],
  ['in-place total (observable counter)', () => total.value++],
  [
    'span dropped (AlwaysOff root), attributes at start',
    () => dropped.startSpan('inbox.notify', { attributes: spanAttributes() }, ROOT_CONTEXT),
  ],
  [
    'span dropped (AlwaysOff root), attributes if recording',
    () => {
      const span = dropped.startSpan('inbox.notify', undefined, ROOT_CONTEXT);
      if (span.isRecording()) span.setAttributes(spanAttributes());
    },
  ],
  [
    'span 10% sampled, attributes at start',
    () => {
      const span = tenth.startSpan('inbox.notify', { attributes: spanAttributes() }, ROOT_CONTEXT);
      if (span.isRecording()) span.end();
    },
  ],
  [
    'span 10% sampled, attributes if recording',
    () => {
      const span = tenth.startSpan('inbox.notify', undefined, ROOT_CONTEXT);
      if (span.isRecording()) {
        span.setAttributes(spanAttributes());
        span.end();
      }
    },
  ],
  [
    'span recorded, attributes at start, ended',
    () => every.startSpan('inbox.notify', { attributes: spanAttributes() }, ROOT_CONTEXT).end(),
  ],
  [
    'span recorded, attributes set after, ended',
    () => {
      const span = every.startSpan('inbox.notify', undefined, ROOT_CONTEXT);
      span.setAttributes(spanAttributes());
      span.end();
    },
  ],
];

function measure(fn: (i: number) => void): number[] {
  for (let i = 0; i < calls / 5; i++) fn(i);
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < calls; i++) fn(i);
    const used = process.cpuUsage(start);
    runs.push(((used.user + used.system) * 1000) / calls);
  }
  return runs.sort((a, b) => a - b);
}

for (const [name, fn] of cases.filter(([n]) => n.includes(filter))) {
  const runs = measure(fn);
  console.log(`${name.padEnd(56)} ${runs[2].toFixed(0).padStart(5)} ns (min ${runs[0].toFixed(0)})`);
}
process.exit(0);
