import { type INestApplication, type NestApplicationOptions } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';
import { sessionMiddleware } from './session';

/** The demo app as `npm start` runs it, minus the database and the port; the browser test uses it too. */
export async function createDemoApp(options?: NestApplicationOptions): Promise<INestApplication> {
  const app = await NestFactory.create(AppModule, options);
  app.use(sessionMiddleware);
  return app;
}
