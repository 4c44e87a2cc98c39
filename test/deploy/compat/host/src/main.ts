import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { sessionMiddleware } from './session';

async function bootstrap() {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  app.use(sessionMiddleware);
  app.enableShutdownHooks();
  // PORT=0 lets the OS pick a free port; the ready line says which.
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  console.log(`compat host ready on ${await app.getUrl()}`);
}

bootstrap().catch((err) => {
  console.error(err);
  process.exit(1);
});
