import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { createAdapter } from '@socket.io/redis-adapter';
import { parse as parseCookie } from 'cookie';
import { NotificationService, NotificationsModule, SessionSource } from 'nestjs-inbox';
import { createClient } from 'redis';
import { NotificationsGateway } from '../../libs/nestjs-inbox/src/gateway/notifications.gateway';
import { EventLoopWatch } from '../lib/event-loop';
import { serve } from '../lib/ipc';
import { now } from '../lib/clock';
import { BODY, burst, cpu, data, memory, paced, rss, snapshot, TITLE } from './load';
import { notifySpansOf, registerOpenTelemetrySdk } from './otel-sdk';

/**
 * The server under test: a host app as a user writes it (TypeORM + NotificationsModule), in
 * its own process, driven by the orchestrator over IPC.
 */
const { DATABASE_URL, REDIS_URL, REDIS_KEY, ORIGIN } = process.env as Record<string, string>;

/** The cheapest session source there is, so the bench measures the library, not a session store. */
const cookieUser: SessionSource = (handshake) => {
  const uid = parseCookie(handshake.headers.cookie ?? '').uid;
  return uid ? { userId: uid } : null;
};

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: DATABASE_URL,
      // BENCH_JIT_OFF=1: Postgres' JIT off on the host's connections (an experiment of
      // docs/performance.md: what the library's batched reads cost without JIT compilation).
      extra: { max: 10, ...(process.env.BENCH_JIT_OFF ? { options: '-c jit=off' } : {}) },
    }),
    NotificationsModule.forRoot({
      session: cookieUser,
      allowedOrigins: [ORIGIN],
      // BENCH_RELEASE_REQUEST=1: the `releaseHandshakeRequest` option (bench/heap-per-socket.ts).
      ...(process.env.BENCH_RELEASE_REQUEST ? { releaseHandshakeRequest: true } : {}),
      ...(REDIS_URL ? { redis: { url: REDIS_URL, key: REDIS_KEY } } : {}),
      ...notifySpansOf(process.env.BENCH_OTEL),
    }),
  ],
})
class HostModule {}

async function main() {
  // BENCH_OTEL=1: what the library's metrics (and, with `+always`, spans) cost with an SDK installed (docs/observability.md).
  if (process.env.BENCH_OTEL) registerOpenTelemetrySdk(process.env.BENCH_OTEL);
  const app = await NestFactory.create(HostModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  await app.listen(0, '127.0.0.1');
  const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  const service = app.get(NotificationService);
  const nsp = app.get(NotificationsGateway).server;

  // The `redis` option is part of the contract; where this build of the library does not wire
  // it yet, the namespace still has Socket.IO's in-memory `Adapter`, and the bench wires the Redis
  // adapter itself (before any client connects) so that two instances can be measured.
  let redisAdapter: 'none' | 'library' | 'bench harness' = 'none';
  if (REDIS_URL) {
    if (nsp.adapter.constructor.name === 'Adapter') {
      const pub = createClient({ url: REDIS_URL });
      const sub = pub.duplicate();
      for (const c of [pub, sub]) c.on('error', (err) => console.error(`redis: ${err.message}`));
      await Promise.all([pub.connect(), sub.connect()]);
      nsp.server.adapter(createAdapter(pub, sub, { key: REDIS_KEY }));
      (nsp as any)._initAdapter();
      redisAdapter = 'bench harness';
    } else {
      redisAdapter = 'library';
    }
  }

  const notify = (user: string, seq: number) => service.notify(user, { type: 'comment', title: TITLE, body: BODY, data: data(seq) });

  // Event-loop delay and stalls, read (and reset) by the scenarios around their rounds.
  const loop = new EventLoopWatch();
  serve({
    eventLoop: () => loop.read(),
    info: () => ({ url, redisAdapter }),
    sockets: () => nsp.sockets.size,
    memory,
    rss,
    cpu,
    snapshot,
    latency: ({ users, count, rate }) => paced(users, count, rate, notify),
    throughput: ({ users, count, concurrency }) => burst(users, count, concurrency, notify),
    broadcast: async () => {
      const t0 = now();
      await service.broadcast({ type: 'announcement', title: TITLE, body: BODY, data: { t0, seq: 0 } });
      return { t0 };
    },
    // The client already holds the first row (its cursor); the `count` after it are missed.
    seed: async ({ user, count }) => {
      const [held] = await notify(user, -1);
      await Promise.all(Array.from({ length: count }, (_, i) => notify(user, i)));
      return { cursor: held.id };
    },
    exit: () => app.close(),
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
