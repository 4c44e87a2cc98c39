import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { createHmac, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { freePort, until } from '../support/processes';

const SECRET = randomBytes(32).toString('hex');

/**
 * The host's view: the OpenTelemetry SDK registered before the Nest app is created, its
 * Prometheus exporter serving /metrics, read back over HTTP after real notifications through
 * three doors and real sockets.
 */
describe('metrics through the OpenTelemetry SDK and its Prometheus exporter', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let exporter: PrometheusExporter;
  let provider: MeterProvider;
  let metricsUrl: string;
  const clients: TestClient[] = [];
  const instance = `${hostname()}:${process.pid}`;

  /** The value of the sample `name{labels}` whose labels include all of `labels` (0 if absent). */
  async function sample(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await (await fetch(metricsUrl)).text();
    const line = text
      .split('\n')
      .filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `))
      .find((l) => Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  }

  beforeAll(async () => {
    const port = await freePort();
    await new Promise<void>((resolve, reject) => {
      exporter = new PrometheusExporter({ host: '127.0.0.1', port }, (err) => (err ? reject(err) : resolve()));
    });
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    provider = new MeterProvider({ readers: [exporter] });
    // Registered before the app is created, as a host's instrumentation file does.
    expect(metrics.setGlobalMeterProvider(provider)).toBe(true);
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { canSubscribe: () => true, http: { secret: SECRET } });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await provider?.shutdown();
    metrics.disable();
    await db?.drop();
  });

  it('counts stored notifications and deliveries by door and kind, with their latency', async () => {
    const c = await TestClient.connect(t.url, 'm-1');
    clients.push(c);
    await t.service.notify(['m-1', 'm-2'], { type: 'message', title: 'direct' });
    await t.service.broadcast({ type: 'news', title: 'to all' });
    await t.service.publish('releases', { type: 'release', title: 'to a topic' });
    // A repeated dedupeKey stores nothing new: counted as a duplicate, not as stored.
    await t.service.notify('m-1', { type: 'message', title: 'once', dedupeKey: 'k-1' });
    await t.service.notify('m-1', { type: 'message', title: 'once', dedupeKey: 'k-1' });
    // In the host's transaction: counted at its commit, never for a rollback.
    await t.dataSource.transaction((m) => t.service.notify('m-1', { type: 'message', title: 'in a transaction' }, { manager: m }));
    const rollback = new Error('rolled back');
    await expect(
      t.dataSource.transaction(async (m) => {
        await t.service.notify('m-1', { type: 'message', title: 'rolled back' }, { manager: m });
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    await c.waitForTitle('in a transaction');
    // The SQL door: a producer's own transaction of at least 50 ms, delivered through LISTEN. Its
    // latency runs from the transaction's start (the row's created_at, Postgres's wall clock), and
    // is measured on the wall clock however far this process's monotonic clock has parted from it
    // (here an hour behind; a wall clock set by NTP or a resumed virtual machine parts them too).
    const monotonicNow = performance.now.bind(performance);
    const drifted = vi.spyOn(performance, 'now').mockImplementation(() => monotonicNow() - 3_600_000);
    try {
      await t.dataSource.transaction(async (m) => {
        await m.query(`SELECT inbox_notify(ARRAY['m-1'], '{"type": "invoice", "title": "by sql"}'::jsonb)`);
        await m.query('SELECT pg_sleep(0.05)');
      });
      await c.waitForTitle('by sql');
    } finally {
      drifted.mockRestore();
    }
    // The HTTP door, signed as a producer signs.
    const body = JSON.stringify({ to: 'm-1', notification: { type: 'invoice', title: 'by http' } });
    const ts = Math.floor(Date.now() / 1000);
    const signature = `t=${ts},v1=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;
    const posted = await fetch(`${t.url}/inbox/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-inbox-signature': signature },
      body,
    });
    expect(posted.status).toBe(201);
    await c.waitForTitle('by http');

    const stored = (labels: Record<string, string>) => sample('inbox_notifications_stored_total', { instance, ...labels });
    expect(await stored({ door: 'service', kind: 'direct', outcome: 'stored' })).toBe(4);
    expect(await stored({ door: 'service', kind: 'direct', outcome: 'duplicate' })).toBe(1);
    expect(await stored({ door: 'service', kind: 'broadcast', outcome: 'stored' })).toBe(1);
    expect(await stored({ door: 'service', kind: 'topic', outcome: 'stored' })).toBe(1);
    expect(await stored({ door: 'http', kind: 'direct', outcome: 'stored' })).toBe(1);

    const deliveries = (labels: Record<string, string>) => sample('inbox_deliveries_total', { instance, ...labels });
    expect(await deliveries({ door: 'service', kind: 'direct' })).toBe(4);
    expect(await deliveries({ door: 'service', kind: 'broadcast' })).toBe(1);
    expect(await deliveries({ door: 'service', kind: 'topic' })).toBe(1);
    expect(await deliveries({ door: 'sql', kind: 'direct' })).toBe(1);
    expect(await deliveries({ door: 'http', kind: 'direct' })).toBe(1);

    // One latency sample per delivered notification, in milliseconds.
    const text = await (await fetch(metricsUrl)).text();
    expect(text).toMatch(/^# UNIT inbox_delivery_latency ms$/m);
    expect(await sample('inbox_delivery_latency_count', { door: 'service', kind: 'direct' })).toBe(4);
    expect(await sample('inbox_delivery_latency_count', { door: 'sql', kind: 'direct' })).toBe(1);
    const sqlLatency = await sample('inbox_delivery_latency_sum', { door: 'sql', kind: 'direct' });
    expect(sqlLatency).toBeGreaterThanOrEqual(50);
    expect(sqlLatency).toBeLessThan(60_000);

    // Never a user id, a topic or a title in a label.
    for (const secret of ['m-1', 'm-2', 'releases', 'to all', 'by sql', 'by http']) expect(text).not.toContain(`"${secret}"`);
  });

  it('counts open sockets up and down, and times each catch-up', async () => {
    const before = await sample('inbox_connections', { instance });
    const tabs = await Promise.all(['c-1', 'c-1', 'c-2'].map((u) => TestClient.connect(t.url, u)));
    expect(await sample('inbox_connections', { instance })).toBe(before + 3);
    expect(await sample('inbox_catch_up_duration_count', { outcome: 'ok', resumed: 'false', instance })).toBeGreaterThanOrEqual(3);
    const resumed = await TestClient.connect(t.url, 'c-3', { cursor: '1' });
    resumed.close();
    expect(await sample('inbox_catch_up_duration_count', { outcome: 'ok', resumed: 'true', instance })).toBe(1);
    tabs[0].close();
    tabs[2].close();
    await until('two sockets counted closed', async () => (await sample('inbox_connections', { instance })) === before + 1);
    tabs[1].close();
    await until('the last socket counted closed', async () => (await sample('inbox_connections', { instance })) === before);
  });
});
