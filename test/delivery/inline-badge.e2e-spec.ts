import { ClientEvent, ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/**
 * `auth.inlineBadge` (docs/protocol.md): a client that asks gets a new direct notification with
 * its inbox's badge as the event's second argument, and no `notifications:unread` for it; every
 * other client, and every case whose effect on the count is not known, as before.
 */
describe('the badge inside the notification frame (auth.inlineBadge)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string, opts = {}) => {
    const c = await TestClient.connect(t.url, user, opts);
    clients.push(c);
    return c;
  };
  const inline = (user: string, opts = {}) => connect(user, { inlineBadge: true, ...opts });
  /** The badge the notification titled `title` came with (`undefined`: none). */
  const badgeOf = async (c: TestClient, title: string, from = 0) => {
    await c.waitForTitle(title, from);
    return c.log.slice(from).find((e) => e.event === ServerEvent.Notification && e.payload.title === title)!.badge;
  };
  const unreadFrames = (c: TestClient, from = 0) => c.log.slice(from).filter((e) => e.event === ServerEvent.Unread);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { canAccessScope: () => true });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('sends a notification with its badge, and no notifications:unread after it, to a client that asked', async () => {
    const [a, old] = [await inline('ib-a'), await connect('ib-old')];
    const from = a.mark();
    // One call for both: a recount of both users would run in one batch and send both their
    // counts in one tick; the old client's count arriving, then an answer on a's socket, means
    // a's count would have arrived before that answer.
    await t.service.notify(['ib-a', 'ib-old'], { type: 'message', title: 'first' });
    expect(await badgeOf(a, 'first', from)).toEqual({ count: 1, unseen: 1 });
    expect(await badgeOf(old, 'first')).toBeUndefined();
    await old.waitFor(ServerEvent.Unread, (p) => p.count === 1 && p.unseen === 1);
    await a.list();
    expect(unreadFrames(a, from)).toEqual([]);

    await t.service.notify(['ib-a', 'ib-old'], { type: 'message', title: 'second' });
    expect(await badgeOf(a, 'second', from)).toEqual({ count: 2, unseen: 2 });
    await old.waitFor(ServerEvent.Unread, (p) => p.count === 2);
    await a.list();
    expect(unreadFrames(a, from)).toEqual([]);
  });

  it('an older client in the same inbox keeps its notifications:unread; no tab gets a badge then', async () => {
    const [a, old] = [await inline('ib-mixed'), await connect('ib-mixed')];
    await t.service.notify('ib-mixed', { type: 'message', title: 'm1' });
    for (const tab of [a, old]) {
      expect(await badgeOf(tab, 'm1')).toBeUndefined();
      await tab.waitFor(ServerEvent.Unread, (p) => p.count === 1 && p.unseen === 1);
    }
  });

  it('keeps the count right on every tab across reads made elsewhere and on a tab', async () => {
    const [tab1, tab2] = [await inline('ib-marks'), await inline('ib-marks')];
    const [n1] = await t.service.notify('ib-marks', { type: 'message', title: 'k1' });
    await t.service.notify('ib-marks', { type: 'message', title: 'k2' });
    for (const tab of [tab1, tab2]) {
      expect(await badgeOf(tab, 'k1')).toEqual({ count: 1, unseen: 1 });
      expect(await badgeOf(tab, 'k2')).toEqual({ count: 2, unseen: 2 });
    }
    // Read by the host: every tab is told.
    const afterRead = tab2.mark();
    await t.service.markRead('ib-marks', [n1.id]);
    await tab2.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from: afterRead });
    const [n3] = await t.service.notify('ib-marks', { type: 'message', title: 'k3' });
    for (const tab of [tab1, tab2]) expect(await badgeOf(tab, 'k3')).toEqual({ count: 2, unseen: 2 });
    // Read on one tab: the other is told, and the next notification counts from there.
    const afterTabRead = tab2.mark();
    expect(await tab1.request(ClientEvent.Read, { ids: [n3.id] })).toEqual({ changed: 1, unread: 1, unseen: 1 });
    await tab2.waitFor(ServerEvent.Unread, (p) => p.count === 1 && p.unseen === 1, { from: afterTabRead });
    await t.service.notify('ib-marks', { type: 'message', title: 'k4' });
    for (const tab of [tab1, tab2]) expect(await badgeOf(tab, 'k4')).toEqual({ count: 2, unseen: 2 });
    expect(await t.service.badge('ib-marks')).toEqual({ unread: 2, unseen: 2 });
  });

  it('gives each scope its own badge: an unscoped notification counts in every inbox of the user, a scoped one in its own', async () => {
    const [plain, w1] = [await inline('ib-scopes'), await inline('ib-scopes', { scope: 'w1' })];
    await t.service.notify('ib-scopes', { type: 'message', title: 'in w1', scope: 'w1' });
    expect(await badgeOf(w1, 'in w1')).toEqual({ count: 1, unseen: 1 });
    await t.service.notify('ib-scopes', { type: 'message', title: 'everywhere' });
    expect(await badgeOf(plain, 'everywhere')).toEqual({ count: 1, unseen: 1 });
    expect(await badgeOf(w1, 'everywhere')).toEqual({ count: 2, unseen: 2 });
    expect(plain.notifications.map((n) => n.title)).toEqual(['everywhere']);
    expect(await t.service.badge('ib-scopes', { scope: 'w1' })).toEqual({ unread: 2, unseen: 2 });
    expect(await t.service.badge('ib-scopes')).toEqual({ unread: 1, unseen: 1 });
  });

  it('leaves a muted type out: not delivered, not counted, and the next badge is right', async () => {
    const c = await inline('ib-muted');
    await c.request(ClientEvent.PreferencesSet, { muted: { types: ['promo'] } });
    await t.service.notify('ib-muted', { type: 'promo', title: 'muted one' });
    await t.service.notify('ib-muted', { type: 'message', title: 'shown one' });
    expect(await badgeOf(c, 'shown one')).toEqual({ count: 1, unseen: 1 });
    expect(c.notifications.map((n) => n.title)).toEqual(['shown one']);
    expect(await t.service.badge('ib-muted')).toEqual({ unread: 1, unseen: 1 });
  });

  it('a tab that watches view counts takes the recount: no badge, then its view counts and its badge', async () => {
    const c = await inline('ib-views');
    expect(await c.request(ClientEvent.Counts, { views: { all: {} } })).toEqual({ counts: { all: 0 } });
    await t.service.notify('ib-views', { type: 'message', title: 'v1' });
    expect(await badgeOf(c, 'v1')).toBeUndefined();
    await c.waitFor(ServerEvent.Counts, (p) => p.counts.all === 1);
    await c.waitFor(ServerEvent.Unread, (p) => p.count === 1 && p.unseen === 1);
  });

  it('a grouped notification (its effect is a recount to find) comes without a badge, then its count', async () => {
    const c = await inline('ib-group');
    const from = c.mark();
    await t.service.notify('ib-group', { type: 'comment', title: 'g1', group: 'post-1' });
    await t.service.notify('ib-group', { type: 'comment', title: 'g2', group: 'post-1' });
    expect(await badgeOf(c, 'g2', from)).toBeUndefined();
    // The second superseded the first: one unread item.
    await c.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from });
    expect(await t.service.badge('ib-group')).toEqual({ unread: 1, unseen: 1 });
  });
});
