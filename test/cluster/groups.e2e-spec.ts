import { ClientEvent, ServerEvent, type NotificationPayload } from 'nestjs-inbox';
import type { TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { type Cluster, startCluster } from '../support/cluster';

/**
 * A feed kept by a client written from docs/protocol.md alone (not the bundled client): every
 * `notification` is held by id; one with `replaces` drops the held item of that id; of the
 * unread items of one group (scope and key) only the newest is kept.
 */
function protocolFeed(log: TestClient['log']): NotificationPayload[] {
  const held = new Map<string, NotificationPayload>();
  const group = (n: NotificationPayload) => (n.group && !n.readAt ? JSON.stringify([n.scope, n.group.key]) : null);
  for (const e of log) {
    if (e.event !== ServerEvent.Notification) continue;
    const n = e.payload as NotificationPayload;
    if (n.replaces) held.delete(n.replaces);
    held.set(n.id, n);
    const key = group(n);
    if (key === null) continue;
    for (const [id, h] of held) {
      if (group(h) !== key) continue;
      if (BigInt(id) < BigInt(n.id)) held.delete(id);
      else if (BigInt(id) > BigInt(n.id)) held.delete(n.id);
    }
  }
  return [...held.values()].sort((x, y) => (BigInt(y.id) > BigInt(x.id) ? 1 : -1));
}

/**
 * Groups live (issue 23): an update reaches every tab on every instance, through either Redis
 * adapter, as a `notification` with `replaces`; a client that follows the protocol holds one item;
 * the catch-up after a gap sends only the current item.
 */
describe.each(['classic', 'sharded'] as const)('groups over Redis (%s adapter)', (adapter) => {
  let cluster: Cluster;
  let a: TestApp;
  let b: TestApp;
  let worker: Cluster['worker'];
  const clients: TestClient[] = [];
  const connect = async (t: TestApp, user: string, opts: { cursor?: string; scope?: string } = {}) => {
    const c = await TestClient.connect(t.url, user, opts);
    clients.push(c);
    return c;
  };
  const comment = (from: { service: TestApp['service'] }, user: string, who: string, scope?: string) =>
    from.service.notify(user, { type: 'comment', title: `${who} commented`, actor: { id: who }, group: 'post:1', scope });

  beforeAll(async () => {
    cluster = await startCluster({ redis: { adapter }, canAccessScope: () => true });
    ({ a, b, worker } = cluster);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(() => cluster?.close());

  it('an update reaches every tab on every instance with replaces; a protocol-only client holds one item, no duplicate', async () => {
    const u = `grp-live-${adapter}`;
    const tabs = [await connect(a, u), await connect(b, u)];
    const [first] = await comment(worker, u, 'Alice');
    const [second] = await comment(a, u, 'Bob');
    const [third] = await comment(b, u, 'Carol');
    for (const tab of tabs) {
      const got = await tab.waitForTitle('Carol commented');
      expect(got).toMatchObject({ id: third.id, replaces: second.id, group: { key: 'post:1', count: 3 } });
      expect(got.group?.actors).toEqual([{ id: 'Carol' }, { id: 'Bob' }, { id: 'Alice' }]);
      expect(tab.notifications.map((n) => [n.id, n.replaces])).toEqual([
        [first.id, null],
        [second.id, first.id],
        [third.id, second.id],
      ]);
      expect(protocolFeed(tab.log).map((n) => n.id)).toEqual([third.id]);
    }
    expect(await a.service.badge(u)).toEqual({ unread: 1, unseen: 1 });
    // The socket's list: the current item; with filter.group, the detail (every row, newest first).
    expect((await tabs[0].list()).items.map((n) => n.id)).toEqual([third.id]);
    expect((await tabs[1].list({ filter: { group: 'post:1' } })).items.map((n) => n.id)).toEqual([third.id, second.id, first.id]);
    expect(await tabs[0].request(ClientEvent.List, { filter: { group: '' } })).toMatchObject({
      error: { code: 'INVALID_INPUT', message: expect.stringMatching(/group/) },
    });
  });

  it('after a gap the catch-up sends only the current item, which replaces one the client never saw', async () => {
    const u = `grp-gap-${adapter}`;
    const tab = await connect(a, u);
    const [first] = await comment(worker, u, 'Alice');
    await tab.waitForTitle('Alice commented');
    tab.close();
    const [second] = await comment(worker, u, 'Bob');
    const [third] = await comment(b, u, 'Carol');
    await comment(worker, `${u}-other`, 'Dave');

    const back = await connect(b, u, { cursor: first.id });
    const caughtUp = back.notifications;
    expect(caughtUp.map((n) => n.id)).toEqual([third.id]);
    expect(caughtUp[0]).toMatchObject({ replaces: second.id, group: { count: 3 } });
    // What the client held before the gap, then the catch-up: the protocol's rule leaves one item.
    const feed = protocolFeed([...tab.log, ...back.log]);
    expect(feed.map((n) => n.id)).toEqual([third.id]);

    // A first visit (no cursor): the current item only.
    const fresh = await connect(a, u);
    expect(fresh.notifications.map((n) => n.id)).toEqual([third.id]);
  });

  it('the same key in two scopes is two items, each delivered to its scope’s sockets', async () => {
    const u = `grp-scope-${adapter}`;
    const acme = await connect(a, u, { scope: 'acme' });
    const globex = await connect(b, u, { scope: 'globex' });
    await comment(worker, u, 'Alice', 'acme');
    await comment(worker, u, 'Bob', 'globex');
    const [c] = await comment(a, u, 'Carol', 'acme');
    await acme.waitForTitle('Carol commented');
    await globex.waitForTitle('Bob commented');
    expect(protocolFeed(acme.log).map((n) => [n.id, n.group?.count])).toEqual([[c.id, 2]]);
    expect(protocolFeed(globex.log).map((n) => [n.title, n.group?.count])).toEqual([['Bob commented', 1]]);
    expect(globex.notifications.map((n) => n.title)).toEqual(['Bob commented']);
  });
});
