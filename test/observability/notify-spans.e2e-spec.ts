import { context, metrics, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { NotificationsConfigError, NotificationsModule, type NotificationsModuleOptions } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { until } from '../support/processes';

/**
 * The `notifySpans` option with the real OpenTelemetry SDK (tracing and metrics), registered
 * before each app is created as a host's instrumentation file does: which `inbox.notify` and
 * `inbox.deliver` spans a call makes with and without the caller's span, and that the metrics
 * are recorded either way.
 */
describe('notifySpans', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
  });
  afterAll(() => db?.drop());

  /** An app under a fresh SDK (providers registered before it is created), for one describe block. */
  function withSdk(options: Partial<NotificationsModuleOptions>) {
    const exporter = new InMemorySpanExporter();
    const tracer = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const reader = new PrometheusExporter({ preventServerStart: true });
    const meter = new MeterProvider({ readers: [reader] });
    const sdk = {
      t: undefined as unknown as TestApp,
      // Taken when used: one taken now would keep the provider registered first (trace.disable() makes a new proxy).
      host: () => trace.getTracer('host-app'),
      spans: (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name),
      childrenOf: (parent: ReadableSpan, name: string) =>
        sdk.spans(name).filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId),
      /** Samples of `inbox.delivery.latency` recorded so far: one per delivered notification. */
      latencyCount: async () => {
        const { resourceMetrics } = await reader.collect();
        const latency = resourceMetrics.scopeMetrics
          .flatMap((s) => s.metrics)
          .find((m) => m.descriptor.name === 'inbox.delivery.latency') as HistogramMetricData | undefined;
        return (latency?.dataPoints ?? []).reduce((n, p) => n + p.value.count, 0);
      },
    };
    beforeAll(async () => {
      expect(context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable())).toBe(true);
      expect(trace.setGlobalTracerProvider(tracer)).toBe(true);
      expect(metrics.setGlobalMeterProvider(meter)).toBe(true);
      sdk.t = await startApp(db.url, options);
    });
    afterAll(async () => {
      await sdk.t?.close();
      await Promise.all([tracer.shutdown(), meter.shutdown()]);
      trace.disable();
      metrics.disable();
      context.disable();
    });
    return sdk;
  }

  describe("'withParent' (the default)", () => {
    const sdk = withSdk({});

    it('starts no span for a notify without a caller span, in a transaction or not; metrics recorded', async () => {
      const c = await TestClient.connect(sdk.t.url, 'ns-2');
      await sdk.t.service.notify('ns-2', { type: 'order', title: 'no parent' });
      await sdk.t.dataSource.transaction((m) => sdk.t.service.notify('ns-2', { type: 'order', title: 'no parent in tx' }, { manager: m }));
      // The delivery after COMMIT ends its span (if any) right after its emit, before the client reads it.
      await c.waitForTitle('no parent in tx');
      c.close();
      expect(sdk.spans('inbox.notify')).toEqual([]);
      expect(sdk.spans('inbox.deliver')).toEqual([]);
      expect(await sdk.latencyCount()).toBe(2);
    });

    it("traces a notify under the caller's span as its child, and the delivery after COMMIT under that", async () => {
      const before = await sdk.latencyCount();
      await sdk.host().startActiveSpan('POST /orders', async (span) => {
        await sdk.t.service.notify('ns-3', { type: 'order', title: 'with parent' });
        await sdk.t.dataSource.transaction((m) =>
          sdk.t.service.notify('ns-3', { type: 'order', title: 'with parent in tx' }, { manager: m }),
        );
        span.end();
      });
      const [request] = sdk.spans('POST /orders');
      const notifies = sdk.childrenOf(request, 'inbox.notify');
      expect(notifies.map((s) => s.attributes['inbox.in_transaction']).sort()).toEqual([false, true]);
      for (const notify of notifies) expect(notify.spanContext().traceId).toBe(request.spanContext().traceId);
      const inTx = notifies.find((s) => s.attributes['inbox.in_transaction'] === true)!;
      await until('the delivery after commit ended', () => sdk.childrenOf(inTx, 'inbox.deliver').length === 1);
      expect(await sdk.latencyCount()).toBe(before + 2);
    });
  });

  describe("'always'", () => {
    const sdk = withSdk({ notifySpans: 'always' });

    it('traces a notify without a caller span as a root span, its delivery after COMMIT as its child; metrics recorded', async () => {
      const c = await TestClient.connect(sdk.t.url, 'ns-1');
      await sdk.t.service.notify('ns-1', { type: 'order', title: 'root' });
      await sdk.t.dataSource.transaction((m) => sdk.t.service.notify('ns-1', { type: 'order', title: 'root in tx' }, { manager: m }));
      await c.waitForTitle('root in tx');
      c.close();
      const notifies = sdk.spans('inbox.notify');
      expect(notifies).toHaveLength(2);
      for (const notify of notifies) expect(notify.parentSpanContext).toBeUndefined();
      const inTx = notifies.find((s) => s.attributes['inbox.in_transaction'] === true)!;
      await until('the delivery after commit ended', () => sdk.childrenOf(inTx, 'inbox.deliver').length === 1);
      expect(await sdk.latencyCount()).toBe(2);
    });
  });

  it('refuses to start with another value, naming the option and the values it takes', () => {
    expect(() => NotificationsModule.forRoot({ notifySpans: 'sometimes' as never, gateway: false })).toThrow(NotificationsConfigError);
    expect(() => NotificationsModule.forRoot({ notifySpans: 'sometimes' as never, gateway: false })).toThrow(
      "nestjs-inbox: notifySpans must be 'always' or 'withParent', got 'sometimes'",
    );
  });
});
