import { context, trace, type Attributes, type Context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SamplingDecision,
  SimpleSpanProcessor,
  type Sampler,
  type SamplingResult,
} from '@opentelemetry/sdk-trace-base';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { until } from '../support/processes';

interface Decision {
  name: string;
  hasParent: boolean;
  attributes: Attributes;
  decision: SamplingDecision;
}

/**
 * A host's sampler, as ParentBased(TraceIdRatio) behaves for the trace it drops: a span under a
 * dropped parent is dropped; a root `inbox.notify` is dropped; any other root is recorded. It
 * keeps what it was asked, to check what the library hands a sampler.
 */
class DropNotifyRoots implements Sampler {
  readonly decisions: Decision[] = [];
  shouldSample(ctx: Context, _traceId: string, name: string, _kind: unknown, attributes: Attributes): SamplingResult {
    const parent = trace.getSpanContext(ctx);
    const decision =
      parent !== undefined
        ? parent.traceFlags & 1
          ? SamplingDecision.RECORD_AND_SAMPLED
          : SamplingDecision.NOT_RECORD
        : name === 'inbox.notify'
          ? SamplingDecision.NOT_RECORD
          : SamplingDecision.RECORD_AND_SAMPLED;
    this.decisions.push({ name, hasParent: parent !== undefined, attributes: { ...attributes }, decision });
    return { decision };
  }
  toString(): string {
    return 'DropNotifyRoots';
  }
}

/** The library's spans under a sampler that drops some: what a dropped span leaves behind. */
describe('spans the host sampler drops', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const exporter = new InMemorySpanExporter();
  const sampler = new DropNotifyRoots();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);
  const decisions = (name: string) => sampler.decisions.filter((d) => d.name === name);

  beforeAll(async () => {
    expect(context.setGlobalContextManager(contextManager.enable())).toBe(true);
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    db = await createDatabase();
    await migrate(db.url);
    // 'always': these calls have no caller's span, and what a dropped root `inbox.notify` leaves is the subject.
    t = await startApp(db.url, { notifySpans: 'always' });
  });
  afterAll(async () => {
    await t?.close();
    await provider.shutdown();
    trace.disable();
    context.disable();
    await db?.drop();
  });

  it("delivers after the caller's COMMIT under the dropped notify, not as a root span of its own", async () => {
    const c = await TestClient.connect(t.url, 'st-1');
    await t.dataSource.transaction((m) => t.service.notify('st-1', { type: 'order', title: 'dropped in tx' }, { manager: m }));
    // The delivery's span is started before its emit: once the client has the row, it was asked.
    await c.waitForTitle('dropped in tx');
    c.close();
    expect(decisions('inbox.notify').map((d) => d.decision)).toEqual([SamplingDecision.NOT_RECORD]);
    const deliver = decisions('inbox.deliver');
    expect(deliver).toEqual([expect.objectContaining({ hasParent: true, decision: SamplingDecision.NOT_RECORD })]);
    expect(spans('inbox.deliver')).toEqual([]);
    expect(spans('inbox.notify')).toEqual([]);
  });

  it('builds no attributes for the sampler: they are set once a span records', async () => {
    await t.service.notify('st-2', { type: 'order', title: 'dropped' });
    expect(decisions('inbox.notify').every((d) => Object.keys(d.attributes).length === 0)).toBe(true);
    // A recorded span (the catch-up: a root the sampler keeps) still carries its attributes.
    const c = await TestClient.connect(t.url, 'st-3');
    c.close();
    // Two catch-ups: st-1's (the test above) and st-3's.
    await until('the catch-up spans', () => spans('inbox.catch_up').length === 2);
    expect(spans('inbox.catch_up').map((s) => s.attributes)).toEqual([{ 'inbox.resumed': false }, { 'inbox.resumed': false }]);
  });
});
