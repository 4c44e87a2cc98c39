import { migrate, startApp, TestApp } from './support/app';
import { TestClient } from './support/client';
import { createDatabase } from './support/database';

describe('catch-up', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { catchUpLimit: 5 });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('never skips a notification committed after a newer id was already delivered', async () => {
    const c = await TestClient.connect(t.url, 'ooo-1');
    // T1 takes the smaller id but commits last.
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    const [older] = await t.service.notify('ooo-1', { type: 't', title: 'older id, late commit' }, { manager: runner.manager });
    const [newer] = await t.service.notify('ooo-1', { type: 't', title: 'newer id, early commit' });
    expect(BigInt(older.id)).toBeLessThan(BigInt(newer.id));
    await c.waitForTitle('newer id, early commit');
    c.close(); // the client holds `newer` as its cursor and goes offline

    await runner.commitTransaction();
    await runner.release();

    const back = await TestClient.connect(t.url, 'ooo-1', { cursor: newer.id });
    expect(back.notifications.map((n) => n.id)).toContain(older.id);
    expect(back.notifications.map((n) => n.id)).not.toContain(newer.id);
    back.close();
  });

  it('does not resend what was committed well before the cursor', async () => {
    const [a] = await t.service.notify('ooo-2', { type: 't', title: 'a' });
    const [b] = await t.service.notify('ooo-2', { type: 't', title: 'b' });
    const [c1] = await t.service.notify('ooo-2', { type: 't', title: 'c' });
    const c = await TestClient.connect(t.url, 'ooo-2', { cursor: b.id });
    expect(c.notifications.map((n) => n.id)).toEqual([c1.id]);
    expect(a.id).not.toBe(c1.id);
    c.close();
  });

  it('sends the newest unread up to the limit without a cursor, and says it truncated', async () => {
    for (let i = 1; i <= 7; i++) await t.service.notify('many-1', { type: 't', title: `m${i}` });
    const c = await TestClient.connect(t.url, 'many-1');
    expect(c.notifications.map((n) => n.title)).toEqual(['m3', 'm4', 'm5', 'm6', 'm7']);
    expect(await c.waitFor('notifications:synced')).toEqual({ unread: 7, truncated: true });
    const older = await c.list({ before: c.notifications[0].id });
    expect(older.items.map((n) => n.title)).toEqual(['m2', 'm1']);
    c.close();
  });

  it('catches up with a cursor that is not among the user’s rows as if it were an id bound', async () => {
    const [x] = await t.service.notify('cur-1', { type: 't', title: 'x' });
    const c = await TestClient.connect(t.url, 'cur-1', { cursor: String(BigInt(x.id) + 1000n) });
    expect(c.notifications).toEqual([]);
    c.close();
  });
});
