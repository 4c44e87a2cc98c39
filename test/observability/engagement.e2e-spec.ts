import { ClientEvent, type EngagementEvent } from 'nestjs-inbox';
import type { Subscription } from 'rxjs';
import { TestClient } from '../support/client';
import { type Cluster, startCluster } from '../support/cluster';
import { until } from '../support/processes';

/** `NotificationService.events` on two instances over one (test-owned) Redis. */
describe('engagement events across instances', () => {
  let cluster: Cluster;
  const seen: { a: EngagementEvent[]; b: EngagementEvent[] } = { a: [], b: [] };
  const subscriptions: Subscription[] = [];
  const clients: TestClient[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    subscriptions.push(cluster.a.service.events.subscribe((e) => seen.a.push(e)));
    subscriptions.push(cluster.b.service.events.subscribe((e) => seen.b.push(e)));
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    subscriptions.forEach((s) => s.unsubscribe());
    await cluster?.close();
  });

  const on = (where: 'a' | 'b', userId: string, type: string) => seen[where].filter((e) => e.userId === userId && e.type === type);

  it('tells every instance of a read made on one, marked local only where it happened', async () => {
    const [n1] = await cluster.a.service.notify('e-1', { type: 'message', title: 'one' });
    const [n2] = await cluster.a.service.notify('e-1', { type: 'message', title: 'two' });
    const before = Date.now();
    await cluster.a.service.markRead('e-1', [n1.id, n2.id]);
    await until('the read reached b', () => on('b', 'e-1', 'read').length === 1);
    const [onA] = on('a', 'e-1', 'read');
    const [onB] = on('b', 'e-1', 'read');
    expect(onA).toMatchObject({ type: 'read', userId: 'e-1', count: 2, scope: null, local: true });
    expect([...onA.ids!].sort()).toEqual([n1.id, n2.id].sort());
    expect(onB).toEqual({ ...onA, local: false });
    expect(onB.time).toBeInstanceOf(Date);
    expect(onB.time.getTime()).toBeGreaterThanOrEqual(before - 1);
  });

  it("reports a socket's seen, archive and delete (by ids and by filter) on the other instance too", async () => {
    const [n] = await cluster.worker.service.notify('e-2', { type: 'message', title: 'three' });
    const tab = await TestClient.connect(cluster.b.url, 'e-2');
    clients.push(tab);
    await tab.request(ClientEvent.Seen, { ids: [n.id] });
    await tab.request(ClientEvent.Archive, { filter: {} });
    await tab.request(ClientEvent.Delete, { ids: [n.id] });
    await until('a heard all three', () => ['seen', 'archived', 'deleted'].every((type) => on('a', 'e-2', type).length === 1));
    expect(on('a', 'e-2', 'seen')[0]).toMatchObject({ ids: [n.id], count: 1, local: false });
    expect(on('a', 'e-2', 'archived')[0]).toMatchObject({ filter: {}, count: 1, local: false });
    expect(on('a', 'e-2', 'archived')[0]).not.toHaveProperty('ids');
    expect(on('b', 'e-2', 'deleted')[0]).toMatchObject({ ids: [n.id], count: 1, local: true });
  });

  it('tells nothing for a change that changed nothing', async () => {
    const [n] = await cluster.a.service.notify('e-3', { type: 'message', title: 'four' });
    await cluster.a.service.markRead('e-3', [n.id]);
    await cluster.a.service.markRead('e-3', [n.id]); // already read
    await cluster.a.service.markSeen('e-3', {}); // read implies seen: nothing unseen left
    await cluster.a.service.archive('e-3', [n.id]);
    // The archive comes after both, in order, on the same instance's stream.
    await until('b heard the archive', () => on('b', 'e-3', 'archived').length === 1);
    expect(on('b', 'e-3', 'read')).toHaveLength(1);
    expect(on('b', 'e-3', 'seen')).toHaveLength(0);
  });
});
