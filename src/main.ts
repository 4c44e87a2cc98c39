import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createDemoApp } from './demo-app';
import { startEmbeddedPostgres } from './embedded-database';
import { observabilityOn, startMetrics } from './observability/metrics';

async function bootstrap() {
  const logger = new Logger('demo');
  let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
  if (!process.env.DATABASE_URL) {
    logger.log('DATABASE_URL is not set: starting an embedded Postgres (data in .data/postgres)');
    embedded = await startEmbeddedPostgres();
    process.env.DATABASE_URL = embedded.url;
  }
  // The SDK before the app, as a host registers it (docs/observability.md).
  const metricsHandler = observabilityOn ? startMetrics() : undefined;
  const app = await createDemoApp();
  if (metricsHandler) app.use('/metrics', metricsHandler);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port);
  logger.log(`nestjs-inbox demo: open http://localhost:${port}`);
  if (observabilityOn) logger.log(`metrics on http://localhost:${port}/metrics, readiness on http://localhost:${port}/health`);
  // One shutdown path: the app (sockets, pools), then the database it used.
  const stop = async () => {
    await app.close();
    await embedded?.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

bootstrap().catch((err: Error) => {
  new Logger('demo').error(err.message);
  process.exit(1);
});
