import { Injectable } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { ClientEvent, type EngagementEvent } from 'nestjs-inbox';
import { loadEventEmitter } from '../../libs/nestjs-inbox/src/observability/event-emitter-bridge';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { until } from '../support/processes';

/** What a host's `@OnEvent` handlers got. */
@Injectable()
class Handlers {
  static got: { name: string; event: EngagementEvent }[] = [];
  @OnEvent('inbox.*')
  any(this: void, event: EngagementEvent) {
    Handlers.got.push({ name: `inbox.${event.type}`, event });
  }
  @OnEvent('inbox.read')
  read(this: void, event: EngagementEvent) {
    Handlers.got.push({ name: 'read handler', event });
  }
}

/** The `eventEmitter` option: the engagement events as `@nestjs/event-emitter` events. */
describe('engagement events through @nestjs/event-emitter', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let host: TestApp;
  const clients: TestClient[] = [];
  const withEmitter = { imports: [EventEmitterModule.forRoot({ wildcard: true }) as never], providers: [Handlers] };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    host = await startApp(db.url, { eventEmitter: true }, {}, withEmitter);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await host?.close();
    await db?.drop();
  });

  const named = (name: string, userId: string) =>
    Handlers.got.filter((g) => g.name === name && g.event.userId === userId).map((g) => g.event);

  it('emits inbox.read, inbox.action and inbox.delivered with the stream’s fields', async () => {
    const tab = await TestClient.connect(host.url, 'm-1');
    clients.push(tab);
    const [n] = await host.service.notify('m-1', { type: 'review', title: 'PR', actions: [{ label: 'Approve', event: 'approve' }] });
    await until('the live delivery was emitted', () => named('inbox.delivered', 'm-1').length === 1);
    expect(named('inbox.delivered', 'm-1')[0]).toMatchObject({ type: 'delivered', ids: [n.id], count: 1, scope: null, local: true });

    expect(await tab.request(ClientEvent.Action, { id: n.id, action: 0 })).toEqual({ ok: true });
    await host.service.markRead('m-1', [n.id]);
    // Emitted synchronously with the change: there by the time the call returns.
    expect(named('inbox.action', 'm-1')).toEqual([
      expect.objectContaining({ ids: [n.id], action: { index: 0, label: 'Approve', event: 'approve' } }),
    ]);
    expect(named('inbox.read', 'm-1')).toEqual([expect.objectContaining({ ids: [n.id], count: 1, local: true })]);
    expect(named('read handler', 'm-1')).toHaveLength(1);
    expect(named('read handler', 'm-1')[0].time).toBeInstanceOf(Date);
  });

  it('emits nothing without the option, though the host uses the event emitter', async () => {
    Handlers.got = [];
    const off = await startApp(db.url, {}, {}, withEmitter);
    try {
      const stream: EngagementEvent[] = [];
      const subscription = off.service.events.subscribe((e) => stream.push(e));
      const [n] = await off.service.notify('m-2', { type: 'message' });
      await off.service.markRead('m-2', [n.id]);
      subscription.unsubscribe();
      // The stream got the read in the same call; the bridge would have emitted it then too.
      expect(stream.map((e) => e.type)).toEqual(['read']);
      expect(named('inbox.read', 'm-2')).toEqual([]);
    } finally {
      await off.close();
    }
  });

  it('refuses to start with the option but no EventEmitterModule, saying what to import', async () => {
    await expect(startApp(db.url, { eventEmitter: true })).rejects.toThrow(
      'the `eventEmitter` option needs EventEmitterModule.forRoot() among the imports of your app module',
    );
  });

  it('says what to install when @nestjs/event-emitter is missing', async () => {
    const missing = () => Promise.reject(new Error("Cannot find module '@nestjs/event-emitter'"));
    await expect(loadEventEmitter(missing)).rejects.toThrow(
      "the `eventEmitter` option needs the package '@nestjs/event-emitter', which is not installed: npm install @nestjs/event-emitter",
    );
    await expect(startApp(db.url, { eventEmitter: 'yes' as never })).rejects.toThrow(/eventEmitter/);
  });
});
