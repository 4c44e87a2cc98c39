import { metrics } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `npm start -- --metrics` (or `DEMO_METRICS=1`): the demo serves `/metrics` (Prometheus) and
 * `/health` (terminus, with the library's indicator). Read when this file is imported, before
 * the app module is declared: the health module is one of its imports.
 */
export const observabilityOn = process.argv.includes('--metrics') || process.env.DEMO_METRICS === '1';

/**
 * Registers the OpenTelemetry metrics SDK, as a host does, before the Nest app is created (the
 * library takes its meter when Nest builds its providers); returns the handler of `/metrics`.
 */
export function startMetrics(): (req: IncomingMessage, res: ServerResponse) => void {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [exporter] }));
  return (req, res) => exporter.getMetricsRequestHandler(req, res);
}
