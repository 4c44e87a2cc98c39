import { ClientEvent, NotificationsGateway, ServerEvent } from 'nestjs-inbox';
import { createClient } from 'redis';
import { startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { type Cluster, startCluster } from '../support/cluster';
import { until } from '../support/processes';

/** Two gateway instances and a producer-only worker, each its own Nest app, over one Redis. */
describe.each(['classic', 'sharded'] as const)('several instances over Redis (%s adapter)', (adapter) => {
  let cluster: Cluster;
  let a: TestApp;
  let b: TestApp;
  let worker: Cluster['worker'];
  const clients: TestClient[] = [];
  const connect = async (t: TestApp, user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    cluster = await startCluster({ redis: { adapter }, canSubscribe: () => true });
    ({ a, b, worker } = cluster);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => cluster?.close());

  it("gives the library's namespace a Redis adapter and leaves the host's other namespaces alone", () => {
    const nsp = a.app.get(NotificationsGateway).server;
    expect(nsp.adapter.constructor.name).toBe(adapter === 'classic' ? 'RedisAdapter' : 'ShardedRedisAdapter');
    expect(nsp.server.of('/').adapter.constructor.name).toBe('Adapter');
  });

  it('delivers a direct notification to every tab of the user, on any instance, and to nobody else', async () => {
    const [tabA, tabB, other] = [await connect(a, 'fan-1'), await connect(b, 'fan-1'), await connect(b, 'fan-2')];
    const [ma, mb] = [tabA.mark(), tabB.mark()];
    await a.service.notify('fan-1', { type: 'message', title: 'from A' });
    await tabB.waitForTitle('from A', mb);
    await tabA.waitForTitle('from A', ma);
    // Each instance recounts for its own sockets: one count per tab.
    await tabB.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from: mb });
    await tabA.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from: ma });
    await b.service.notify('fan-2', { type: 'message', title: 'barrier' });
    await other.waitForTitle('barrier');
    expect(other.notifications.map((n) => n.title)).toEqual(['barrier']);
  });

  it('keeps unread counts and read state in step across instances', async () => {
    const [tabA, tabB] = [await connect(a, 'fan-read'), await connect(b, 'fan-read')];
    const [x, y] = await b.service
      .notify('fan-read', { type: 't', title: 'x' })
      .then(async (r1) => [r1[0], (await b.service.notify('fan-read', { type: 't', title: 'y' }))[0]]);
    await tabA.waitFor(ServerEvent.Unread, (p) => p.count === 2);
    const mb = tabB.mark();
    expect(await tabA.request(ClientEvent.Read, { ids: [x.id] })).toEqual({ changed: 1, unread: 1, unseen: 1 });
    expect(await tabB.waitFor(ServerEvent.Read, () => true, { from: mb })).toEqual({ ids: [x.id], scope: null });
    await tabB.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from: mb });
    // The sharded adapter emits locally only once its publish settles, so tabA's own copy of
    // the first read event may still be on its way: take it before marking.
    await tabA.waitFor(ServerEvent.Read, (p) => 'ids' in p);
    const ma = tabA.mark();
    expect(await tabB.request(ClientEvent.ReadAll, {})).toMatchObject({ unread: 0 });
    expect(await tabA.waitFor(ServerEvent.Read, () => true, { from: ma })).toEqual({ all: true, scope: null });
    await tabA.waitFor(ServerEvent.Unread, (p) => p.count === 0, { from: ma });
    expect(y.readAt).toBeNull();
  });

  it('keeps inbox states, watched counts and muting in step across instances', async () => {
    const [tabA, tabB] = [await connect(a, 'fan-state'), await connect(b, 'fan-state')];
    await tabB.request(ClientEvent.Delete, { filter: { state: 'all' } }); // the broadcasts of the tests before
    expect(await tabB.request(ClientEvent.Counts, { views: { mentions: { type: 'mention' } } })).toEqual({ counts: { mentions: 0 } });
    let mb = tabB.mark();
    const [m] = await worker.service.notify('fan-state', { type: 'mention', title: 'm' });
    expect(await tabB.waitFor(ServerEvent.Counts, () => true, { from: mb })).toEqual({ counts: { mentions: 1 } });

    mb = tabB.mark();
    expect(await tabA.request(ClientEvent.Archive, { ids: [m.id] })).toMatchObject({ changed: 1, unread: 0 });
    expect(await tabB.waitFor(ServerEvent.State, () => true, { from: mb })).toEqual({ ids: [m.id], change: 'archived', scope: null });
    expect(await tabB.waitFor(ServerEvent.Counts, () => true, { from: mb })).toEqual({ counts: { mentions: 0 } });

    // Muted on A: B's socket leaves the live delivery of that type too.
    await tabA.request(ClientEvent.PreferencesSet, { muted: { types: ['promo'] } });
    mb = tabB.mark();
    await worker.service.notify('fan-state', { type: 'promo', title: 'muted' });
    await worker.service.notify('fan-state', { type: 'mention', title: 'after' });
    await tabB.waitForTitle('after', mb);
    expect(
      tabB.log
        .slice(mb)
        .filter((e) => e.event === ServerEvent.Notification)
        .map((e) => e.payload.title),
    ).toEqual(['after']);
  });

  it('reaches every instance with broadcasts and topics, subscriptions included', async () => {
    const [onA, onB] = [await connect(a, 'fan-bc-1'), await connect(b, 'fan-bc-2')];
    await a.service.broadcast({ type: 'announcement', title: 'to all' });
    await onB.waitForTitle('to all');
    await onA.waitForTitle('to all');
    await onB.waitFor(ServerEvent.Unread, (p) => p.count >= 1);

    // A subscription made on A joins the user's tab on B at once.
    const [tabA, tabB] = [await connect(a, 'fan-topic'), await connect(b, 'fan-topic')];
    expect(await tabA.request(ClientEvent.Subscribe, { topic: 'builds' })).toEqual({ ok: true });
    const mb = tabB.mark();
    await a.service.publish('builds', { type: 'publish', title: 'build 1 green' });
    await tabB.waitForTitle('build 1 green', mb);
    await tabB.waitFor(ServerEvent.Unread, () => true, { from: mb });
    await b.service.unsubscribe('fan-topic', 'builds');
    await a.service.publish('builds', { type: 'publish', title: 'build 2 green' });
    await a.service.notify('fan-topic', { type: 't', title: 'barrier' });
    await tabA.waitForTitle('barrier');
    await tabB.waitForTitle('barrier');
    expect(tabB.notifications.map((n) => n.title)).not.toContain('build 2 green');
    expect(tabA.notifications.map((n) => n.title)).not.toContain('build 2 green');
  });

  it('answers isOnline and disconnects a user across instances', async () => {
    expect(await a.service.isOnline('fan-presence')).toBe(false);
    const onB = await connect(b, 'fan-presence');
    expect(await a.service.isOnline('fan-presence')).toBe(true);
    expect(await worker.service.isOnline('fan-presence')).toBe(true);
    await a.service.disconnectUser('fan-presence');
    await onB.waitFor('disconnect');
    await until('user offline everywhere', async () => !(await a.service.isOnline('fan-presence')));

    const again = await connect(b, 'fan-presence');
    await worker.service.disconnectUser('fan-presence');
    await again.waitFor('disconnect');
  });

  it('lets a producer-only process notify, broadcast and publish through the gateway instances', async () => {
    const [onA, onB] = [await connect(a, 'fan-work'), await connect(b, 'fan-work')];
    await b.service.subscribe('fan-work', 'jobs');
    const [stored] = await worker.service.notify('fan-work', { type: 'reminder', title: 'from the worker' });
    expect(stored.title).toBe('from the worker');
    await onA.waitForTitle('from the worker');
    await onB.waitForTitle('from the worker');
    await onB.waitFor(ServerEvent.Unread, (p) => p.count >= 1);
    await worker.service.broadcast({ type: 'system', title: 'worker broadcast' });
    await worker.service.publish('jobs', { type: 'publish', title: 'job done' });
    await onA.waitForTitle('worker broadcast');
    await onA.waitForTitle('job done');
    await onB.waitForTitle('job done');
  });

  it("duplicates a host's own Redis client and leaves it open on shutdown", async () => {
    const own = createClient({ url: cluster.redis.url });
    await own.connect();
    const c = await startApp(cluster.databaseUrl, { redis: { client: own, adapter } });
    try {
      await until('instance connected to Redis', () => c.service.health().redis === 'up');
      const onC = await connect(c, 'fan-own');
      await a.service.notify('fan-own', { type: 't', title: 'to the third instance' });
      await onC.waitForTitle('to the third instance');
    } finally {
      await c.close();
    }
    expect(await own.ping()).toBe('PONG');
    own.destroy();
  });
});
