import { ClientEvent, ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** Broadcasts reach every user, so they get a database of their own. */
describe('broadcast', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('reaches users online and one who connects later, stored once, with read state per user', async () => {
    const [u1, u2] = [await connect('bc-1'), await connect('bc-2')];
    const stored = await t.service.broadcast({ type: 'announcement', title: 'maintenance tonight' });
    expect(stored?.broadcast).toBe(true);
    await u1.waitForTitle('maintenance tonight');
    await u2.waitForTitle('maintenance tonight');
    await u2.waitFor(ServerEvent.Unread, (p) => p.count === 1);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM inbox_notification`);
    expect(n).toBe(1);

    expect(await u1.request(ClientEvent.Read, { ids: [stored!.id] })).toEqual({ changed: 1, unread: 0, unseen: 0 });
    expect(await t.service.unreadCount('bc-2')).toBe(1);
    const late = await connect('bc-late');
    expect(late.notifications.map((x) => x.title)).toEqual(['maintenance tonight']);
    const [p1, p2] = [await u1.list(), await u2.list()];
    expect(p1.items[0].readAt).not.toBeNull();
    expect(p2.items[0].readAt).toBeNull();
    expect(await t.service.markAllRead('bc-2')).toMatchObject({ unread: 0, unseen: 0 });
    expect(await t.service.unreadCount('bc-late')).toBe(1);
  });

  it('stores nothing new for a repeated dedupeKey', async () => {
    const first = await t.service.broadcast({ type: 't', title: 'once', dedupeKey: 'release-7' });
    const again = await t.service.broadcast({ type: 't', title: 'twice', dedupeKey: 'release-7' });
    expect(first).not.toBeNull();
    expect(again).toBeNull();
  });
});
