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

  it('reports an action from a socket with the action as stored, and refuses a bad or foreign one by its field', async () => {
    const actions = [
      { label: 'Open', url: '/pr/1' },
      { label: 'Approve', event: 'approve' },
    ];
    const [n] = await cluster.worker.service.notify('e-4', { type: 'review', title: 'PR 1', actions });
    const [other] = await cluster.worker.service.notify('e-5', { type: 'review', title: 'not yours', actions });
    const tab = await TestClient.connect(cluster.b.url, 'e-4');
    clients.push(tab);
    expect(await tab.request(ClientEvent.Action, { id: n.id, action: 1 })).toEqual({ ok: true });
    await until('a heard the action', () => on('a', 'e-4', 'action').length === 1);
    expect(on('a', 'e-4', 'action')[0]).toMatchObject({
      ids: [n.id],
      count: 1,
      scope: null,
      action: { index: 1, label: 'Approve', event: 'approve' },
      local: false,
    });
    expect(on('b', 'e-4', 'action')[0]).toMatchObject({ ids: [n.id], local: true, action: { index: 1 } });

    const refusals = await Promise.all([
      tab.request(ClientEvent.Action, { id: 'x', action: 0 }),
      tab.request(ClientEvent.Action, { id: n.id, action: 3 }),
      tab.request(ClientEvent.Action, { id: n.id, action: 2 }),
      tab.request(ClientEvent.Action, { id: other.id, action: 0 }),
      tab.request(ClientEvent.Action, { id: n.id, action: 0, label: 'forged' }),
    ]);
    expect(refusals.map((r: any) => r.error?.code)).toEqual(Array(5).fill('INVALID_INPUT'));
    expect(refusals[0].error.message).toMatch(/^notifications:action: id: /);
    expect(refusals[1].error.message).toMatch(/^notifications:action: action: /);
    expect(refusals[2].error.message).toBe(`notifications:action: action: notification ${n.id} has no action 2`);
    expect(refusals[3].error.message).toBe(`notifications:action: id: no notification ${other.id} in this inbox`);
    expect(refusals[4].error.message).toMatch(/label/);
    await expect(cluster.a.service.action('e-5', other.id, -1)).rejects.toThrow(/^action: action: /);
    // A last good one: after it, no event came from the refused ones (one stream, in order).
    await cluster.a.service.action('e-4', n.id, 0);
    await until('b heard the last action', () => on('b', 'e-4', 'action').length === 2);
    expect(on('b', 'e-4', 'action').map((e) => e.action)).toEqual([
      { index: 1, label: 'Approve', event: 'approve' },
      { index: 0, label: 'Open', url: '/pr/1' },
    ]);
    expect(on('a', 'e-5', 'action')).toHaveLength(0);
  });

  it('reports a live delivery once per user and instance holding their sockets, never a catch-up resend', async () => {
    // Probes on both instances: the worker's emits reach each instance in the order it published
    // them (one Redis connection each way), so once a later probe notification arrived on a and b,
    // `missed`'s live emit has been handed out there, before any of e-6's tabs existed.
    const probes = await Promise.all([TestClient.connect(cluster.a.url, 'e-6p'), TestClient.connect(cluster.b.url, 'e-6p')]);
    clients.push(...probes);
    const [missed] = await cluster.worker.service.notify('e-6', { type: 'message', title: 'while away' });
    await cluster.worker.service.notify('e-6p', { type: 'message', title: 'barrier' });
    await Promise.all(probes.map((p) => p.waitForTitle('barrier')));
    const tabs = await Promise.all([
      TestClient.connect(cluster.a.url, 'e-6'),
      TestClient.connect(cluster.a.url, 'e-6'),
      TestClient.connect(cluster.b.url, 'e-6'),
      TestClient.connect(cluster.b.url, 'e-7'),
    ]);
    clients.push(...tabs);
    const [direct] = await cluster.worker.service.notify('e-6', { type: 'message', title: 'live' });
    const everyone = await cluster.worker.service.broadcast({ type: 'announcement', title: 'all' });
    const got = (where: 'a' | 'b', userId: string, id: string, local: boolean) =>
      on(where, userId, 'delivered').filter((e) => e.local === local && e.ids!.includes(id));
    await until('both instances reported both deliveries to e-6, and the broadcast to e-7', () =>
      (['a', 'b'] as const).every(
        (where) =>
          got(where, 'e-6', direct.id, true).length + got(where, 'e-6', direct.id, false).length === 2 &&
          got(where, 'e-6', everyone!.id, true).length + got(where, 'e-6', everyone!.id, false).length === 2 &&
          got(where, 'e-7', everyone!.id, where === 'b').length === 1,
      ),
    );
    // Two tabs on a: one event there, not one per socket; and e-7 is not told of e-6's row.
    expect(got('a', 'e-6', direct.id, true)).toHaveLength(1);
    expect(got('a', 'e-6', direct.id, true)[0].ids!.filter((id) => id === direct.id)).toHaveLength(1);
    expect(got('a', 'e-6', direct.id, true)[0]).toMatchObject({ type: 'delivered', scope: null });
    expect(on('b', 'e-7', 'delivered').some((e) => e.ids!.includes(direct.id))).toBe(false);
    for (const e of on('a', 'e-6', 'delivered')) expect(e.count).toBe(e.ids!.length);
    expect(seen.a.concat(seen.b).some((e) => e.type === 'delivered' && e.ids!.includes(missed.id))).toBe(false);
  });
});
