import {
  context,
  createNoopMeter,
  metrics,
  ProxyTracerProvider,
  trace,
  type MeterProvider as Meters,
  type TracerProvider as Tracers,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { INSTRUMENTATION_SCOPE } from '../../libs/nestjs-inbox/src/observability/inbox-telemetry';

/** Takes spans and drops them: the SDK's cost (recording, batching), with no collector to wait on. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** How often a Prometheus server scrapes `/metrics` (its default `scrape_interval` is 1 min; 15 s is common). */
const SCRAPE_MS = 15_000;

/**
 * `BENCH_OTEL=1`: the library server runs with the OpenTelemetry SDK registered before its app
 * is created, as a host's instrumentation file does: every span sampled (with `+always`, the
 * most it can cost: the bench's callers have no span of their own, so under the default
 * `notifySpans` the library starts no `inbox.notify` for them), batched (BatchSpanProcessor,
 * its defaults) to an exporter that drops them, and the metrics aggregated for a Prometheus
 * exporter, collected every 15 s as a scrape would.
 * The context manager is the one a Node host registers, AsyncLocalStorage, its promise hooks
 * installed at once in every mode (one `context.with`, as a traced host's first request span does).
 * `BENCH_OTEL=sampled`: the same with the usual production sampler, 10% of the root traces
 * (ParentBased(TraceIdRatio 0.1)): the library's spans are not recorded for the other 90%.
 * `BENCH_OTEL=off`: the same SDK, with the library's instruments switched off by the host (its
 * meter and tracer are the API's no-ops for our scope, `disableScope`): what installing the SDK
 * costs a Node host, whatever the library records.
 * `BENCH_OTEL=context`: that context manager alone, no providers, its hooks installed (one
 * `context.with`): what any host with OpenTelemetry tracing pays on every promise, whatever the
 * library records, to tell it apart from the rest.
 * A `+withParent` or `+always` suffix (`sampled+always`): the same SDK, the library server started
 * with that `notifySpans` (bench/servers/library-server.ts reads it, see `notifySpansOf`); without
 * one, the library's default (`'withParent'`).
 */
export function registerOpenTelemetrySdk(mode: string): () => Promise<void> {
  const [what, suffix] = mode.split('+');
  // A misspelt mode (`none+withParent`) would otherwise run as `1`, every span recorded.
  if (!['1', 'sampled', 'off', 'context'].includes(what) || (suffix !== undefined && notifySpansOf(mode).notifySpans === undefined)) {
    throw new Error(`BENCH_OTEL must be 1, sampled, off or context, with an optional +withParent or +always; got ${mode}`);
  }
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  // Node 20 installs AsyncLocalStorage's promise hooks at its first run, not when it is made:
  // one context.with, as a traced host's first request span makes. In every mode from the start,
  // so that all pay them from the first promise on, whatever the library records (without it, a
  // library mode's hooks came on at its first recorded catch-up span or the SDK's first export).
  context.with(context.active(), () => undefined);
  if (what === 'context') return () => Promise.resolve();
  const sampler = what === 'sampled' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) : undefined;
  const tracer = new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] });
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meter = new MeterProvider({ readers: [prometheus] });
  const scrape = setInterval(() => void prometheus.collect(), SCRAPE_MS).unref();
  if (what === 'off') {
    const off = disableScope(INSTRUMENTATION_SCOPE, tracer, meter);
    trace.setGlobalTracerProvider(off.tracer);
    metrics.setGlobalMeterProvider(off.meter);
  } else {
    trace.setGlobalTracerProvider(tracer);
    metrics.setGlobalMeterProvider(meter);
  }
  return async () => {
    clearInterval(scrape);
    await Promise.all([tracer.shutdown(), meter.shutdown()]);
  };
}

/**
 * How a host switches one instrumentation scope off (the SDK has no per-scope switch yet):
 * providers that hand that scope the API's no-op tracer and meter, and every other scope the
 * SDK's. A View with `AggregationType.DROP` would drop the metrics too, but the SDK still hashes
 * each measurement's attributes before dropping them (about 1 µs per `record`).
 */
export function disableScope(scope: string, tracer: Tracers, meter: Meters): { tracer: Tracers; meter: Meters } {
  const noopTracer = new ProxyTracerProvider().getTracer(scope);
  const noopMeter = createNoopMeter();
  return {
    tracer: { getTracer: (name, version, options) => (name === scope ? noopTracer : tracer.getTracer(name, version, options)) },
    meter: { getMeter: (name, version, options) => (name === scope ? noopMeter : meter.getMeter(name, version, options)) },
  };
}

/** The `notifySpans` option a BENCH_OTEL value asks for (its `+withParent` or `+always` suffix), or none: the default. */
export function notifySpansOf(mode: string | undefined): { notifySpans?: 'withParent' | 'always' } {
  const suffix = mode?.split('+')[1];
  return suffix === 'withParent' || suffix === 'always' ? { notifySpans: suffix } : {};
}
