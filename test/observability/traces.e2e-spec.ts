import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { until } from '../support/processes';

/** The host's tracing SDK, registered before the app: our spans join the host's traces. */
describe('spans through the OpenTelemetry SDK', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  const host = trace.getTracer('host-app');
  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
  const childrenOf = (parent: ReadableSpan, name: string) =>
    spans(name).filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);

  beforeAll(async () => {
    expect(context.setGlobalContextManager(contextManager.enable())).toBe(true);
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterAll(async () => {
    await t?.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    await db?.drop();
  });

  it("runs notify as a child of the host's active span, through commit and emit", async () => {
    const c = await TestClient.connect(t.url, 'tr-1');
    let endedWithTheCall = false;
    await host.startActiveSpan('POST /orders', async (span) => {
      await t.service.notify(['tr-1', 'tr-2'], { type: 'order', title: 'shipped' });
      // Ended by the time notify resolves: the rows are committed and emitted.
      endedWithTheCall = spans('inbox.notify').length === 1;
      span.end();
    });
    await c.waitForTitle('shipped');
    c.close();
    const [request] = spans('POST /orders');
    const [notify] = childrenOf(request, 'inbox.notify');
    expect(notify).toBeDefined();
    expect(notify.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(notify.attributes).toEqual({ door: 'service', kind: 'direct', 'inbox.recipients': 2, 'inbox.in_transaction': false });
    expect(endedWithTheCall).toBe(true);
  });

  it("delivers after the host's own COMMIT in a span that is a child of that notify", async () => {
    await host.startActiveSpan('job', async (span) => {
      await t.dataSource.transaction((m) => t.service.notify('tr-3', { type: 'order', title: 'in tx' }, { manager: m }));
      span.end();
    });
    const [job] = spans('job');
    const [inTx] = childrenOf(job, 'inbox.notify');
    expect(inTx.attributes['inbox.in_transaction']).toBe(true);
    await until('the delivery after commit ended', () => childrenOf(inTx, 'inbox.deliver').length === 1);
  });

  it('traces each socket catch-up', async () => {
    const c = await TestClient.connect(t.url, 'tr-4');
    c.close();
    await until('a catch-up span', () => spans('inbox.catch_up').some((s) => s.attributes['inbox.resumed'] === false));
  });
});
