import { ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, startWorker, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { horizonPassed } from '../support/horizon';

describe('catch-up', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { catchUpLimit: 5, listLimit: { default: 4, max: 100 } });
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

  it('resends a row committed just before the cursor whose live emit was lost', async () => {
    // A producer-only process without Redis stores and emits nothing: the emit is lost, as with
    // an instance that died between its commit and its emit.
    const worker = await startWorker(db.url);
    try {
      const c = await TestClient.connect(t.url, 'lost-1');
      const [lost] = await worker.service.notify('lost-1', { type: 't', title: 'emit lost' });
      const [later] = await t.service.notify('lost-1', { type: 't', title: 'delivered' });
      await c.waitForTitle('delivered');
      expect(c.notifications.map((n) => n.id)).toEqual([later.id]);
      c.close();
      const back = await TestClient.connect(t.url, 'lost-1', { cursor: later.id });
      expect(back.notifications.map((n) => n.id)).toEqual([lost.id]);
      back.close();
    } finally {
      await worker.close();
    }
  });

  it('leaves out of the resend what the client says it holds below its cursor, and only that', async () => {
    const [a] = await t.service.notify('held-1', { type: 't', title: 'a' });
    const [b] = await t.service.notify('held-1', { type: 't', title: 'b' });
    const [c1] = await t.service.notify('held-1', { type: 't', title: 'c' });
    // All three began within the grace window of the cursor's row: without `held`, a and b come again.
    const plain = await TestClient.connect(t.url, 'held-1', { cursor: c1.id });
    expect(plain.notifications.map((n) => n.id)).toEqual([a.id, b.id]);
    plain.close();
    const holdingB = await TestClient.connect(t.url, 'held-1', { cursor: c1.id, held: [b.id] });
    expect(holdingB.notifications.map((n) => n.id)).toEqual([a.id]);
    holdingB.close();
    const holdingAll = await TestClient.connect(t.url, 'held-1', { cursor: c1.id, held: [b.id, a.id] });
    expect(holdingAll.notifications).toEqual([]);
    holdingAll.close();
  });

  it('refuses a malformed auth.held in the handshake', async () => {
    for (const held of [['not-an-id'], 'a,b', Array.from({ length: 257 }, (_, i) => String(i + 1))]) {
      const c = TestClient.open(t.url, 'held-2', { cursor: '1', held });
      const err = await c.waitFor<Error & { data?: { code: string } }>('connect_error');
      expect(err.message).toMatch(/^auth\.held/);
      expect(err.data?.code).toBe('INVALID_INPUT');
      c.close();
    }
  });

  it('does not resend what was committed well before the cursor', async () => {
    const [a] = await t.service.notify('ooo-2', { type: 't', title: 'a' });
    const [b] = await t.service.notify('ooo-2', { type: 't', title: 'b' });
    // Both began before the grace window of the cursor's row.
    await t.dataSource.query(`UPDATE inbox_notification SET created_at = created_at - interval '1 minute' WHERE id IN ($1, $2)`, [
      a.id,
      b.id,
    ]);
    // c's row records the horizon at its commit: a and b must be below it.
    await horizonPassed(t.dataSource);
    const [c1] = await t.service.notify('ooo-2', { type: 't', title: 'c' });
    const c = await TestClient.connect(t.url, 'ooo-2', { cursor: c1.id });
    expect(c.notifications.map((n) => n.id)).toEqual([]);
    c.close();
  });

  it('sends the newest page (listLimit.default) without a cursor, read or not, and says it truncated', async () => {
    for (let i = 1; i <= 7; i++) await t.service.notify('many-1', { type: 't', title: `m${i}` });
    const [m7] = (await t.service.list('many-1', { limit: 1 })).items;
    await t.service.markRead('many-1', [m7.id]);
    const c = await TestClient.connect(t.url, 'many-1');
    expect(c.notifications.map((n) => [n.title, n.readAt !== null])).toEqual([
      ['m4', false],
      ['m5', false],
      ['m6', false],
      ['m7', true],
    ]);
    expect(await c.waitFor(ServerEvent.Synced)).toMatchObject({ unread: 6, unseen: 6, truncated: true });
    const older = await c.list({ before: c.notifications[0].id });
    expect(older.items.map((n) => n.title)).toEqual(['m3', 'm2', 'm1']);
    c.close();
  });

  it('gives a client that received nothing a cursor to resume from, so its next catch-up has no gap', async () => {
    const first = await TestClient.connect(t.url, 'empty-1');
    expect(first.notifications).toEqual([]);
    const { cursor, truncated } = await first.waitFor(ServerEvent.Synced);
    expect(truncated).toBe(false);
    expect(cursor).toMatch(/^[1-9][0-9]*$/);
    first.close();
    // More than a first visit's page commits while it is away: resuming from the cursor gets all of it.
    for (let i = 1; i <= 5; i++) await t.service.notify('empty-1', { type: 't', title: `e${i}` });
    const again = await TestClient.connect(t.url, 'empty-1', { cursor });
    expect(again.notifications.map((n) => n.title)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(await again.waitFor(ServerEvent.Synced)).toMatchObject({ truncated: false, cursor: again.notifications[4].id });
    again.close();
  });

  it('catches up with a cursor that is not among the user’s rows as if it were an id bound', async () => {
    const [x] = await t.service.notify('cur-1', { type: 't', title: 'x' });
    const c = await TestClient.connect(t.url, 'cur-1', { cursor: String(BigInt(x.id) + 1000n) });
    expect(c.notifications).toEqual([]);
    c.close();
  });
});
