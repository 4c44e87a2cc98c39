import { context, metrics, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { hostname } from 'node:os';
import webpush from 'web-push';
import { NotificationsHealthIndicator } from 'nestjs-inbox';
import { EMAIL_PROBE_CACHE_MS } from '../../libs/nestjs-inbox/src/observability/notifications-health.indicator';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { freePort } from '../support/processes';
import { startSmtp, type TestSmtp, until } from '../support/smtp';

/**
 * The channels seen by an operator: their sends in the metrics (/metrics of the SDK's
 * Prometheus exporter) and spans, and their senders in the health indicator, against a real
 * SMTP server, then with that server stopped.
 */
describe('channels in metrics, spans and health', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let smtp: TestSmtp;
  let t: TestApp;
  let meterProvider: MeterProvider;
  let metricsUrl: string;
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spanExporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  const instance = `${hostname()}:${process.pid}`;
  const vapid = { subject: 'mailto:ops@acme.example', ...webpush.generateVAPIDKeys() };

  /** `inbox_channel_sends_total` with these labels (0 if absent). */
  async function sends(labels: Record<string, string>): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const line = text
      .split('\n')
      .filter((l) => l.startsWith('inbox_channel_sends_total{'))
      .find((l) => Object.entries({ instance, ...labels }).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }
  const settled = async (userId: string) => {
    const rows = (await t.dataSource.query(`SELECT status FROM inbox_channel_send WHERE user_id = $1`, [userId])) as { status: string }[];
    return rows.length > 0 && rows.every((r) => !['pending', 'sending'].includes(r.status));
  };
  const health = () => t.app.get(NotificationsHealthIndicator).isHealthy('inbox', { timeoutMs: 1000 });

  beforeAll(async () => {
    const port = await freePort();
    let exporter!: PrometheusExporter;
    await new Promise<void>((resolve, reject) => {
      exporter = new PrometheusExporter({ host: '127.0.0.1', port }, (err) => (err ? reject(err) : resolve()));
    });
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    meterProvider = new MeterProvider({ readers: [exporter] });
    // Registered before the app is created, as a host's instrumentation file does.
    expect(metrics.setGlobalMeterProvider(meterProvider)).toBe(true);
    expect(context.setGlobalContextManager(contextManager.enable())).toBe(true);
    expect(trace.setGlobalTracerProvider(tracerProvider)).toBe(true);
    [db, smtp] = await Promise.all([createDatabase(), startSmtp()]);
    await migrate(db.url);
    t = await startApp(
      db.url,
      {
        channels: {
          pollMs: 20,
          retryBaseMs: 20,
          maxAttempts: 2,
          email: {
            transport: smtp.url,
            from: 'Acme <no-reply@acme.example>',
            address: (userId) => (userId.startsWith('nomail') ? null : `${userId}@mail.test`),
            after: 200,
          },
          webPush: { vapid },
        },
      },
      { gateway: false },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await meterProvider?.shutdown();
    await tracerProvider.shutdown();
    metrics.disable();
    trace.disable();
    context.disable();
    await db?.drop();
  });

  it('counts e-mails sent and sends skipped at claim time by channel and outcome, one span per e-mail', async () => {
    const [n] = await t.service.notify('ann', { type: 'comment', title: 'Bob replied' });
    // Skipped at claim time: no address, and e-mail muted by the user. (Reading by ids within
    // the delay cancels the send in the reader's transaction, in SQL: not a send the engine makes.)
    await t.service.notify('nomail-1', { type: 'comment', title: 'nowhere to send' });
    await t.service.setPreferences('bea', { channels: { email: { muted: true } } });
    await t.service.notify('bea', { type: 'comment', title: 'muted' });
    await until('ann gets the e-mail', () => smtp.to('ann@mail.test').length === 1);
    for (const user of ['ann', 'nomail-1', 'bea']) await until(`${user}'s sends are settled`, () => settled(user));
    // Counted once the claim or the send is recorded: a moment after the rows commit.
    const counted = async () =>
      [
        await sends({ channel: 'email', outcome: 'sent' }),
        await sends({ channel: 'email', outcome: 'skipped' }),
        await sends({ channel: 'webPush', outcome: 'skipped' }),
      ].join();
    await until('the sends are counted', async () => (await counted()) === '1,2,3');

    expect(await sends({ channel: 'email', outcome: 'sent' })).toBe(1);
    expect(await sends({ channel: 'email', outcome: 'skipped' })).toBe(2);
    expect(await sends({ channel: 'email', outcome: 'failed' })).toBe(0);
    // Web Push applies too (at once): none of them has a push subscription.
    expect(await sends({ channel: 'webPush', outcome: 'skipped' })).toBe(3);
    const text = await (await fetch(metricsUrl)).text();
    // Never a user id or a title in a label.
    for (const secret of ['ann', 'bea', 'nomail-1', 'Bob replied']) expect(text).not.toContain(`"${secret}"`);

    const spans = spanExporter.getFinishedSpans().filter((s) => s.name === 'inbox.channel.send');
    expect(spans).toHaveLength(1);
    expect(spans[0].attributes).toEqual({ channel: 'email', 'inbox.notifications': 1, 'inbox.attempt': 1 });
    expect(spans[0].status.code).not.toBe(SpanStatusCode.ERROR);
    expect((await t.service.channelHistory('ann'))[0]).toMatchObject({ outcome: 'sent', notificationIds: [n.id] });
  });

  it('reports the e-mail transport up and Web Push configured; down, naming the error, once the SMTP server is stopped', async () => {
    expect(await health()).toEqual({
      inbox: { status: 'up', store: 'up', sqlListener: 'off', redis: 'off', channels: { email: 'up', webPush: 'configured' } },
    });
    const probedAt = Date.now();
    await smtp.close();
    // Within the cache's few seconds, the last answer stands: no SMTP connection per probe.
    const cached = await health();
    expect(Date.now() - probedAt).toBeLessThan(EMAIL_PROBE_CACHE_MS);
    expect(cached.inbox.channels).toEqual({ email: 'up', webPush: 'configured' });

    let answer = cached;
    await until('the check reports the e-mail transport down', async () => (answer = await health()).inbox.status === 'down', 15_000);
    expect(answer.inbox).toMatchObject({
      status: 'down',
      store: 'up',
      channels: { email: 'down', webPush: 'configured' },
      message: expect.stringMatching(/^down: e-mail \(.*ECONNREFUSED.*\): e-mails are retried with backoff and given up after 2 attempts/),
    });

    // Meanwhile a send fails: counted per attempt, its span marked as an error, given up after the second.
    await t.service.notify('cy', { type: 'comment', title: 'during the outage' });
    await until(
      "cy's send is given up and counted",
      async () => (await settled('cy')) && (await sends({ channel: 'email', outcome: 'failed' })) === 2,
    );
    const failed = spanExporter.getFinishedSpans().filter((s) => s.name === 'inbox.channel.send' && s.status.code === SpanStatusCode.ERROR);
    expect(failed.map((s) => s.attributes['inbox.attempt'])).toEqual([1, 2]);
    const history = (await t.service.channelHistory('cy')).filter((h) => h.channel === 'email');
    expect(history).toMatchObject([{ outcome: 'failed' }, { outcome: 'retry' }]);
  });

  it('counts a send left sending by a process that died as failed, once another instance records it', async () => {
    const before = await sends({ channel: 'email', outcome: 'failed' });
    await t.service.notify('dan', { type: 'comment', title: 'interrupted', channels: { email: { after: 60_000 } } });
    // What a SIGKILL between claim and answer leaves (test/channels/crash.e2e-spec.ts makes it for real).
    await t.dataSource.query(
      `UPDATE inbox_channel_send SET status = 'sending', updated_at = now() - interval '11 minutes' WHERE user_id = 'dan' AND channel = 'email'`,
    );
    await until('the interrupted send is counted', async () => (await sends({ channel: 'email', outcome: 'failed' })) === before + 1);
    expect((await t.service.channelHistory('dan')).find((h) => h.channel === 'email')).toMatchObject({
      outcome: 'failed',
      reason: 'interrupted: the process ended while sending',
    });
  });
});
