import type { NotificationInput } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** `url`, `actions`, `actor` and `tags` (issue 13), from each way in to each way out. */
describe('presentation fields: url, actions, actor, tags', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string, opts = {}) => {
    const c = await TestClient.connect(t.url, user, opts);
    clients.push(c);
    return c;
  };

  const shown = {
    url: 'HTTPS://shop.example/orders/7?tab=1#top', // stored as given, not normalised
    actions: [
      { label: 'Track', url: '/orders/7/track' },
      { label: 'Confirm receipt', event: 'order:received', url: '/orders/7' },
      { label: 'Dismiss', event: 'dismiss' },
    ],
    actor: { id: 'shop', name: 'The shop', avatarUrl: 'https://cdn.example/shop.png' },
    tags: ['orders', 'shipping'],
  } satisfies Partial<NotificationInput>;
  const none = { url: null, actions: [], actor: null, tags: [] };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { canSubscribe: () => true });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('notify: returned, delivered live, listed (service and socket) and caught up as given', async () => {
    const tab = await connect('shown-1');
    const [stored] = await t.service.notify('shown-1', { type: 'order', title: 'shipped', ...shown });
    expect(stored).toMatchObject(shown);
    expect(await tab.waitForTitle('shipped')).toMatchObject({ id: stored.id, ...shown });
    const page = await t.service.list('shown-1');
    expect(page.items).toEqual([expect.objectContaining({ id: stored.id, ...shown })]);
    expect((await tab.list()).items).toEqual(page.items);
    const later = await connect('shown-1');
    expect(later.notifications).toEqual(page.items);
  });

  it('notify inside a transaction, to several users: the same fields, each its own row', async () => {
    const tabs = [await connect('shown-tx-1'), await connect('shown-tx-2')];
    const stored = await t.dataSource.transaction((manager) =>
      t.service.notify(['shown-tx-1', 'shown-tx-2'], { type: 'order', title: 'in tx', ...shown }, { manager }),
    );
    expect(stored.map((n) => n.userId)).toEqual(['shown-tx-1', 'shown-tx-2']);
    for (const [i, tab] of tabs.entries()) {
      expect(await tab.waitForTitle('in tx')).toMatchObject({ id: stored[i].id, ...shown });
    }
  });

  it('broadcast and publish carry them too; without them, the defaults', async () => {
    const tab = await connect('shown-2');
    await t.service.subscribe('shown-2', 'releases');
    const all = await t.service.broadcast({ type: 'news', title: 'to all', url: '/news/1', tags: ['news'] });
    const release = await t.service.publish('releases', { type: 'release', title: 'v2', actions: [{ label: 'Open', url: '/v2' }] });
    const [plain] = await t.service.notify('shown-2', { type: 'm', title: 'plain', url: null, actions: null, actor: null, tags: null });
    expect(await tab.waitForTitle('to all')).toMatchObject({ id: all!.id, broadcast: true, ...none, url: '/news/1', tags: ['news'] });
    expect(await tab.waitForTitle('v2')).toMatchObject({
      id: release!.id,
      topic: 'releases',
      ...none,
      actions: [{ label: 'Open', url: '/v2' }],
    });
    expect(await tab.waitForTitle('plain')).toMatchObject({ id: plain.id, ...none });
    expect((await t.service.list('shown-2')).items.map((n) => [n.title, n.url, n.actions, n.actor, n.tags])).toEqual([
      ['plain', null, [], null, []],
      ['v2', null, [{ label: 'Open', url: '/v2' }], null, []],
      ['to all', '/news/1', [], null, ['news']],
    ]);
  });

  it('stores no actions as NULL and no tags as an empty array', async () => {
    await t.service.notify('shown-3', { type: 'm', title: 'bare' });
    await t.service.notify('shown-3', { type: 'm', title: 'empty', actions: [], tags: [] });
    const rows = await t.dataSource.query(
      `SELECT title, url, actions, actor, tags FROM inbox_notification WHERE user_id = 'shown-3' ORDER BY id`,
    );
    expect(rows).toEqual([
      { title: 'bare', url: null, actions: null, actor: null, tags: [] },
      { title: 'empty', url: null, actions: null, actor: null, tags: [] },
    ]);
  });
});
