import { Injectable, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import {
  NotificationsGateway,
  NotificationService,
  NotificationsConfigError,
  NotificationsModule,
  NotificationsModuleOptions,
} from 'nestjs-inbox';
import { cookieUser, migrate, ORIGIN } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** One small host module per way of configuring the library, each run for real. */
describe('NotificationsModule configuration', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const base: NotificationsModuleOptions = { session: cookieUser, allowedOrigins: [ORIGIN] };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
  });
  afterAll(() => db?.drop());

  async function run(imports: any[], check: (url: string, service: NotificationService) => Promise<void>) {
    @Module({ imports })
    class Host {}
    const app = await NestFactory.create(Host, { logger: false });
    try {
      await app.listen(0, '127.0.0.1');
      await check((await app.getUrl()).replace('[::1]', '127.0.0.1'), app.get(NotificationService));
    } finally {
      await app.close();
    }
  }

  async function delivers(url: string, service: NotificationService, namespace?: string) {
    const user = `u-${Math.random().toString(36).slice(2)}`;
    const c = await TestClient.connect(url, user, { namespace });
    await service.notify(user, { type: 't', title: 'configured' });
    await c.waitForTitle('configured');
    c.close();
  }

  @Injectable()
  class OptionsFactory {
    createNotificationsOptions(): NotificationsModuleOptions {
      return base;
    }
  }
  @Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
  class OptionsModule {}

  it('forRootAsync with useFactory and inject', () =>
    run(
      [
        TypeOrmModule.forRoot({ type: 'postgres', url: db.url }),
        NotificationsModule.forRootAsync({
          imports: [OptionsModule],
          inject: [OptionsFactory],
          useFactory: (f: OptionsFactory) => f.createNotificationsOptions(),
        }),
      ],
      (url, s) => delivers(url, s),
    ));

  it('forRootAsync with useClass', () =>
    run(
      [TypeOrmModule.forRoot({ type: 'postgres', url: db.url }), NotificationsModule.forRootAsync({ useClass: OptionsFactory })],
      (url, s) => delivers(url, s),
    ));

  it('forRootAsync with useExisting', () =>
    run(
      [
        TypeOrmModule.forRoot({ type: 'postgres', url: db.url }),
        NotificationsModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory }),
      ],
      (url, s) => delivers(url, s),
    ));

  it('stores through a named DataSource and serves a custom namespace', () =>
    run(
      [
        TypeOrmModule.forRoot({ name: 'inbox', type: 'postgres', url: db.url }),
        NotificationsModule.forRoot({ ...base, dataSource: 'inbox', namespace: '/inbox' }),
      ],
      (url, s) => delivers(url, s, '/inbox'),
    ));

  it('keeps two registrations with different namespaces apart, even when built together', async () => {
    const host = (namespace: string) => {
      @Module({
        imports: [TypeOrmModule.forRoot({ type: 'postgres', url: db.url }), NotificationsModule.forRoot({ ...base, namespace })],
      })
      class Host {}
      return Host;
    };
    // Both apps build their providers before either binds its gateway to a server.
    const apps = await Promise.all(['/first', '/second'].map((ns) => NestFactory.create(host(ns), { logger: false })));
    try {
      const urls = await Promise.all(
        apps.map(async (app) => (await app.listen(0, '127.0.0.1'), (await app.getUrl()).replace('[::1]', '127.0.0.1'))),
      );
      await delivers(urls[0], apps[0].get(NotificationService), '/first');
      await delivers(urls[1], apps[1].get(NotificationService), '/second');
      const wrong = TestClient.open(urls[0], 'someone', { namespace: '/second' });
      expect((await wrong.waitFor<Error>('connect_error')).message).toMatch(/Invalid namespace/);
      wrong.close();
    } finally {
      await Promise.all(apps.map((app) => app.close()));
    }
  });

  it('binds no listener of its own to an idle socket: every socket shares the same ones (no per-socket Nest binding)', async () => {
    @Module({ imports: [TypeOrmModule.forRoot({ type: 'postgres', url: db.url }), NotificationsModule.forRoot(base)] })
    class Host {}
    const app = await NestFactory.create(Host, { logger: false });
    const clients: TestClient[] = [];
    try {
      await app.listen(0, '127.0.0.1');
      const url = (await app.getUrl()).replace('[::1]', '127.0.0.1');
      for (const user of ['idle-a', 'idle-b']) {
        clients.push(await TestClient.connect(url, user));
      }
      const [a, b] = [...app.get(NotificationsGateway).server.sockets.values()];
      // Per event (and the catch-all lists), the listeners of a socket: the very same functions on both.
      const listeners = (s: typeof a): [string, unknown[]][] => [
        ...s.eventNames().map((event): [string, unknown[]] => [String(event), s.listeners(event as string)]),
        ['any', s.listenersAny()],
        ['any outgoing', s.listenersAnyOutgoing()],
      ];
      expect(a.listeners('disconnect').length).toBeGreaterThan(0);
      const [ofA, ofB] = [listeners(a), listeners(b)];
      expect(ofA.map(([event, fns]) => [event, fns.length])).toEqual(ofB.map(([event, fns]) => [event, fns.length]));
      ofA.forEach(([event, fns], i) => fns.forEach((fn, k) => expect(fn, `${event} #${k}`).toBe(ofB[i][1][k])));
      // The events still reach their handlers.
      expect(await clients[0].list()).toMatchObject({ items: [] });
    } finally {
      clients.forEach((c) => c.close());
      await app.close();
    }
  });

  it('runs producer-only without a gateway: notify stores, no socket is served', () =>
    run(
      [TypeOrmModule.forRoot({ type: 'postgres', url: db.url }), NotificationsModule.forRoot({ gateway: false })],
      async (url, service) => {
        const [stored] = await service.notify('worker-user', { type: 'job', title: 'done' });
        expect((await service.list('worker-user')).items[0].id).toBe(stored.id);
        const refused = TestClient.open(url, 'worker-user');
        await refused.waitFor('connect_error');
        refused.close();
      },
    ));

  it('refuses to start with options that cannot work, saying what to fix', async () => {
    @Module({
      imports: [
        // Not connected: the app never finishes starting, so nothing would close the pool.
        TypeOrmModule.forRoot({ type: 'postgres', url: db.url, manualInitialization: true }),
        NotificationsModule.forRootAsync({ useFactory: async () => ({ allowedOrigins: [ORIGIN] }) }),
      ],
    })
    class Host {}
    const err = await NestFactory.create(Host, { logger: false, abortOnError: false }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotificationsConfigError);
    expect((err as Error).message).toMatch(/^nestjs-inbox: the gateway needs `session`/);
  });

  it('logs one line at boot per registration: namespace, origins, Redis, producer doors', async () => {
    const log = vi.spyOn(Logger.prototype, 'log');
    try {
      await run(
        [
          TypeOrmModule.forRoot({ type: 'postgres', url: db.url }),
          NotificationsModule.forRootAsync({
            useFactory: async () => ({
              ...base,
              allowedOrigins: [ORIGIN, 'https://admin.test'],
              namespace: '/inbox',
              redis: { url: REDIS_URL },
              http: { secret: 'a-producer-secret-of-32-characters!' },
            }),
          }),
        ],
        async () => undefined,
      );
      await run(
        [TypeOrmModule.forRoot({ type: 'postgres', url: db.url }), NotificationsModule.forRoot({ gateway: false })],
        async () => undefined,
      );
      // Nest's own loggers call the same method: only the module's context is the library's.
      const lines = log.mock.calls.filter((_, i) => (log.mock.contexts[i] as any)?.context === 'NotificationsModule').map(([m]) => m);
      expect(lines).toEqual([
        `gateway on namespace /inbox for origins ${ORIGIN}, https://admin.test; Redis on (classic adapter); producer doors: sql, http POST /inbox/notifications`,
        'no gateway (producer-only); Redis off (one instance); producer doors: none',
      ]);
    } finally {
      log.mockRestore();
    }
  });

  it('forRoot checks its options where the module is declared', () => {
    expect(() => NotificationsModule.forRoot({ session: cookieUser, allowedOrigins: ['*'] })).toThrow(NotificationsConfigError);
  });
});
