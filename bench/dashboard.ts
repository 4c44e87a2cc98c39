/**
 * `npm run bench:dashboard [-- --out docs/dashboard.svg]`
 *
 * The Grafana dashboard's main panels (docs/grafana-dashboard.json), drawn from real metric
 * readings: a host app with the OpenTelemetry SDK and its Prometheus exporter on `/metrics`
 * (as docs/observability.md sets it up), 300 sockets and a load that changes every few
 * seconds (notifications at 50, 200 and 500 a second, broadcasts, half the sockets
 * reconnecting). `/metrics` is read every second, as Prometheus would scrape it, and each panel's
 * query is computed the way Prometheus computes it (rates and histogram quantiles over the
 * last two readings). The README shows the result.
 */
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { parse as parseCookie } from 'cookie';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import { NotificationService, NotificationsModule } from 'nestjs-inbox';
import { io, type Socket } from 'socket.io-client';
import { panelsSvg } from './lib/chart';
import { admin, databaseUrl, migrate } from './lib/database';

const ORIGIN = 'http://bench.test';
const SOCKETS = 300;
const args = process.argv.slice(2);
const out = resolve(args.includes('--out') ? args[args.indexOf('--out') + 1] : resolve(__dirname, '../docs/dashboard.svg'));

/** One reading of `/metrics`: each sample's value by metric name and labels (Prometheus text format). */
type Reading = { t: number; samples: { name: string; labels: Record<string, string>; value: number }[] };

function parseMetrics(text: string, t: number): Reading {
  const samples: Reading['samples'] = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { t, samples };
}

const sum = (r: Reading, name: string, where: (l: Record<string, string>) => boolean = () => true) =>
  r.samples.filter((s) => s.name === name && where(s.labels)).reduce((a, s) => a + s.value, 0);

/** `rate(name[…])` between two readings, summed over the series `where` keeps. */
const rate = (a: Reading, b: Reading, name: string, where?: (l: Record<string, string>) => boolean) =>
  (sum(b, name, where) - sum(a, name, where)) / ((b.t - a.t) / 1000);

/** `histogram_quantile(q, sum by (le) (rate(name_bucket[…])))` between two readings; null without observations. */
function quantile(
  a: Reading,
  b: Reading,
  name: string,
  q: number,
  where: (l: Record<string, string>) => boolean = () => true,
): number | null {
  const les = [...new Set(b.samples.filter((s) => s.name === `${name}_bucket`).map((s) => s.labels.le))];
  const buckets = les
    .map((le) => ({ le: le === '+Inf' ? Infinity : Number(le), n: rate(a, b, `${name}_bucket`, (l) => l.le === le && where(l)) }))
    .sort((x, y) => x.le - y.le);
  const total = buckets.at(-1)?.n ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lower = 0;
  let below = 0;
  for (const { le, n } of buckets) {
    if (n >= rank) return le === Infinity ? lower : lower + (le - lower) * ((rank - below) / Math.max(n - below, 1e-9));
    lower = le;
    below = n;
  }
  return lower;
}

async function main(): Promise<void> {
  // The SDK first, then the app (docs/observability.md).
  const exporter = new PrometheusExporter({ preventServerStart: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));

  const name = `inbox_dashboard_${randomBytes(4).toString('hex')}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const sockets: Socket[] = [];
  try {
    await migrate(url);

    @Module({
      imports: [
        TypeOrmModule.forRoot({ type: 'postgres', url, extra: { max: 10 } }),
        NotificationsModule.forRoot({
          session: (handshake) => ({ userId: parseCookie(handshake.headers.cookie ?? '').uid ?? 'anonymous' }),
          allowedOrigins: [ORIGIN],
        }),
      ],
    })
    class HostModule {}
    const app = await NestFactory.create(HostModule, { logger: ['error'] });
    app.use('/metrics', (req: IncomingMessage, res: ServerResponse) => exporter.getMetricsRequestHandler(req, res));
    await app.listen(0, '127.0.0.1');
    const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
    const service = app.get(NotificationService);

    const connect = (i: number) =>
      new Promise<Socket>((ok) => {
        const s = io(`${base}/notifications`, { transports: ['websocket'], extraHeaders: { cookie: `uid=u${i}`, origin: ORIGIN } });
        s.once('notifications:synced', () => ok(s));
      });

    const readings: Reading[] = [];
    const scrape = async () => readings.push(parseMetrics(await (await fetch(`${base}/metrics`)).text(), Date.now()));
    const scraper = setInterval(() => void scrape(), 1000);
    await scrape();

    const paced = async (perSecond: number, seconds: number) => {
      const end = Date.now() + seconds * 1000;
      let seq = 0;
      while (Date.now() < end) {
        const tick = Date.now();
        const batch = Array.from({ length: perSecond / 10 }, () =>
          service.notify(`u${seq++ % SOCKETS}`, { type: 'comment', title: 'Ada commented', body: 'Looks good to me' }),
        );
        await Promise.all(batch);
        await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tick))));
      }
    };
    const pause = (s: number) => new Promise((r) => setTimeout(r, s * 1000));

    // The story the panels tell: sockets arrive, load rises, a broadcast, half reconnect, load falls.
    for (let i = 0; i < SOCKETS; i += 50) {
      sockets.push(...(await Promise.all(Array.from({ length: 50 }, (_, k) => connect(i + k)))));
      await pause(0.5);
    }
    await paced(50, 8);
    await paced(200, 8);
    await service.broadcast({ type: 'announcement', title: 'Maintenance tonight' });
    await paced(500, 8);
    const leaving = sockets.splice(0, SOCKETS / 2);
    leaving.forEach((s) => s.close());
    await paced(200, 5);
    sockets.push(...(await Promise.all(leaving.map((_, k) => connect(k)))));
    await paced(50, 8);
    await pause(2);
    clearInterval(scraper);
    await scrape();

    const t0 = readings[0].t;
    const pairs = readings.slice(1).map((b, i) => ({ a: readings[i], b, x: (b.t - t0) / 1000 }));
    const points = (f: (a: Reading, b: Reading) => number | null) =>
      pairs.flatMap(({ a, b, x }) => {
        const y = f(a, b);
        return y === null ? [] : [[x, y] as [number, number]];
      });
    const ok = (l: Record<string, string>) => l.outcome === 'ok';
    const load = loadavg()[0].toFixed(1);
    const svg = panelsSvg(
      `Dashboard panels from /metrics, read every second during a scripted load (bench/dashboard.ts; load average ${load})`,
      [
        {
          title: 'Stored /s and deliveries /s',
          xLabel: 'seconds',
          yLabel: 'notifications /s',
          series: {
            stored: points((a, b) => rate(a, b, 'inbox_notifications_stored_total', (l) => l.outcome === 'stored')),
            delivered: points((a, b) => rate(a, b, 'inbox_deliveries_total')),
          },
        },
        { title: 'Open sockets', xLabel: 'seconds', yLabel: 'sockets', series: { open: points((_, b) => sum(b, 'inbox_connections')) } },
        {
          title: 'Delivery latency, commit to emit',
          xLabel: 'seconds',
          yLabel: 'ms',
          series: {
            p50: points((a, b) => quantile(a, b, 'inbox_delivery_latency', 0.5)),
            p99: points((a, b) => quantile(a, b, 'inbox_delivery_latency', 0.99)),
          },
        },
        {
          title: 'Catch-up duration',
          xLabel: 'seconds',
          yLabel: 'ms',
          series: {
            p50: points((a, b) => quantile(a, b, 'inbox_catch_up_duration', 0.5, ok)),
            p99: points((a, b) => quantile(a, b, 'inbox_catch_up_duration', 0.99, ok)),
          },
        },
      ],
    );
    writeFileSync(out, svg);
    console.log(`${out}: ${readings.length} readings of /metrics`);
    sockets.forEach((s) => s.close());
    await app.close();
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
