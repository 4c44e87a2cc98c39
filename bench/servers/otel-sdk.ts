import { context, metrics, trace } from '@opentelemetry/api';
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

/** Takes spans and drops them: the SDK's cost (recording, batching), with no collector to wait on. */
class DroppingExporter implements SpanExporter {
  export(_spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    done({ code: 0 });
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * `BENCH_OTEL=1`: the library server runs with the OpenTelemetry SDK registered before its app
 * is created, as a host's instrumentation file does: every span sampled (the most it can cost),
 * batched to an exporter that drops them, and the metrics aggregated for a Prometheus exporter
 * that is never scraped (aggregation is the per-notification cost; a scrape every 15 s is not).
 * The context manager is the one a Node host registers, AsyncLocalStorage.
 * `BENCH_OTEL=sampled`: the same with the usual production sampler, 10% of the root traces
 * (ParentBased(TraceIdRatio 0.1)): the library's spans are not recorded for the other 90%.
 * `BENCH_OTEL=context`: that context manager alone, no providers, its hooks installed (one
 * `context.with`): what any host with OpenTelemetry tracing pays on every promise, whatever the
 * library records, to tell it apart from the rest.
 */
export function registerOpenTelemetrySdk(what: string): () => Promise<void> {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  if (what === 'context') {
    // Node 20 installs AsyncLocalStorage's promise hooks at its first run, not when it is made:
    // one context.with, as a traced host's first span (or the SDK's first export) makes.
    context.with(context.active(), () => undefined);
    return () => Promise.resolve();
  }
  const sampler = what === 'sampled' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.1) }) : undefined;
  const tracer = new BasicTracerProvider({ sampler, spanProcessors: [new BatchSpanProcessor(new DroppingExporter())] });
  trace.setGlobalTracerProvider(tracer);
  const meter = new MeterProvider({ readers: [new PrometheusExporter({ preventServerStart: true })] });
  metrics.setGlobalMeterProvider(meter);
  return async () => {
    await Promise.all([tracer.shutdown(), meter.shutdown()]);
  };
}
