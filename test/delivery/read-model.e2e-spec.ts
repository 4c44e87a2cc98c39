import { NOTIFICATIONS_MIGRATIONS } from 'nestjs-inbox';
import { DataSource } from 'typeorm';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { horizonPassed } from '../support/horizon';

/**
 * The read model of docs/scaling.md through the public API: watermarks instead of a receipt per
 * notification, stream positions in commit order, exact counts whatever commits when.
 */
describe('read model', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const rows = async (table: string) => (await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;
  const titles = async (user: string, q = {}) => (await t.service.list(user, q)).items.map((n) => [n.title, n.readAt !== null]);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { listLimit: { default: 50, max: 100 } });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /** A transaction of the host, held open on purpose. */
  async function openTransaction() {
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    return {
      manager: runner.manager,
      commit: async () => {
        await runner.commitTransaction();
        await runner.release();
      },
    };
  }

  it('marks all read without a row per notification, and counts what comes after', async () => {
    await t.service.subscribe('wm-1', 'wm-news');
    for (let i = 0; i < 30; i++) await t.service.broadcast({ type: 'announcement', title: `b${i}` });
    for (let i = 0; i < 10; i++) await t.service.publish('wm-news', { type: 'release', title: `p${i}` });
    await t.service.notify('wm-1', { type: 'mention', title: 'd' });
    expect(await t.service.unreadCount('wm-1')).toBe(41);

    const [receipts, directRead] = [await rows('inbox_receipt'), await rows('inbox_notification WHERE read_at IS NOT NULL')];
    await horizonPassed(t.dataSource);
    expect(await t.service.markAllRead('wm-1')).toMatchObject({ unread: 0 });
    // The one direct row was written by a transaction that had ended: the watermark covers it.
    expect([await rows('inbox_receipt'), await rows('inbox_notification WHERE read_at IS NOT NULL')]).toEqual([receipts, directRead]);
    expect((await t.service.list('wm-1')).items.every((n) => n.readAt !== null)).toBe(true);

    await t.service.broadcast({ type: 'announcement', title: 'after' });
    await t.service.publish('wm-news', { type: 'release', title: 'p-after' });
    await t.service.notify('wm-1', { type: 'mention', title: 'd-after' });
    expect(await t.service.unreadCount('wm-1')).toBe(3);
    expect((await t.service.list('wm-1', { unreadOnly: true })).items.map((n) => n.title)).toEqual(['d-after', 'p-after', 'after']);
  });

  it('keeps a row unread whose transaction was open across mark-all, direct or shared', async () => {
    const tx = await openTransaction();
    const [late] = await t.service.notify('wm-2', { type: 'mention', title: 'late direct' }, { manager: tx.manager });
    const lateBroadcast = await t.service.broadcast({ type: 'announcement', title: 'late broadcast' }, { manager: tx.manager });
    await t.service.notify('wm-2', { type: 'mention', title: 'early' });
    await t.service.markAllRead('wm-2');
    expect(await t.service.unreadCount('wm-2')).toBe(0);
    await tx.commit();
    expect(await t.service.unreadCount('wm-2')).toBe(2);
    const unread = (await t.service.list('wm-2', { unreadOnly: true })).items.map((n) => n.id).sort();
    expect(unread).toEqual([late.id, lateBroadcast!.id].sort());
    // And a second mark-all covers them.
    expect(await t.service.markAllRead('wm-2')).toMatchObject({ unread: 0 });
    expect((await t.service.list('wm-2', { unreadOnly: true })).items).toEqual([]);
  });

  it('counts exactly: out-of-order reads, expiry, another transaction committing first', async () => {
    await t.service.markAllRead('wm-3');
    const first = await openTransaction();
    const a = await t.service.broadcast({ type: 'announcement', title: 'a (commits last)' }, { manager: first.manager });
    const b = await t.service.broadcast({ type: 'announcement', title: 'b' });
    const c = await t.service.broadcast({ type: 'announcement', title: 'c', expiresAt: new Date(Date.now() + 60_000) });
    expect(await t.service.unreadCount('wm-3')).toBe(2);
    expect((await t.service.markRead('wm-3', [b!.id, b!.id])).ids).toEqual([b!.id]);
    expect(await t.service.unreadCount('wm-3')).toBe(1);
    await t.dataSource.query(`UPDATE inbox_notification SET expires_at = now() - interval '1 second' WHERE id = $1`, [c!.id]);
    expect(await t.service.unreadCount('wm-3')).toBe(0);
    await first.commit();
    expect(await t.service.unreadCount('wm-3')).toBe(1);
    expect((await t.service.list('wm-3', { unreadOnly: true })).items.map((n) => n.id)).toEqual([a!.id]);
    // Reading it twice, or reading what is already read, changes nothing.
    expect((await t.service.markRead('wm-3', [a!.id, b!.id])).ids).toEqual([a!.id]);
    expect(await t.service.unreadCount('wm-3')).toBe(0);
  });

  it('sees a topic from the subscription on, and stops counting it on unsubscribe', async () => {
    await t.service.markAllRead('wm-4');
    await t.service.publish('wm-topic', { type: 'release', title: 'before' });
    await t.service.subscribe('wm-4', 'wm-topic');
    await t.service.publish('wm-topic', { type: 'release', title: 'after' });
    expect(await titles('wm-4', { type: 'release' })).toEqual([['after', false]]);
    expect(await t.service.unreadCount('wm-4')).toBe(1);
    await t.service.unsubscribe('wm-4', 'wm-topic');
    expect(await t.service.unreadCount('wm-4')).toBe(0);
    expect(await titles('wm-4', { type: 'release' })).toEqual([]);
  });

  it('filters by type and pages with any filter, newest first across streams', async () => {
    await t.service.markAllRead('wm-5');
    await t.service.subscribe('wm-5', 'wm-typed');
    const made: string[] = [];
    for (let i = 0; i < 6; i++) {
      const [d] = await t.service.notify('wm-5', { type: i % 2 ? 'order' : 'mention', title: `d${i}` });
      const p = await t.service.publish('wm-typed', { type: i % 2 ? 'order' : 'release', title: `p${i}` });
      made.push(d.id, p!.id);
    }
    const orders = await t.service.list('wm-5', { type: 'order', limit: 2 });
    expect(orders.items.map((n) => n.title)).toEqual(['p5', 'd5']);
    const next = await t.service.list('wm-5', { type: 'order', limit: 4, before: orders.nextCursor! });
    expect(next.items.map((n) => n.title)).toEqual(['p3', 'd3', 'p1', 'd1']);
    await t.service.markRead('wm-5', [made[11], made[10]]);
    const unreadOrders = await t.service.list('wm-5', { type: 'order', unreadOnly: true });
    expect(unreadOrders.items.map((n) => n.title)).toEqual(['p3', 'd3', 'p1', 'd1']);
  });
});

describe('read model migration', () => {
  it('migrates a database at the first schema, with its data, without changing what anyone sees', async () => {
    const db = await createDatabase();
    // The first schema only, and data as the first version of the library wrote it.
    const first = new DataSource({ type: 'postgres', url: db.url, migrations: [NOTIFICATIONS_MIGRATIONS[0]] });
    await first.initialize();
    try {
      await first.runMigrations();
      const ds = first;
      await ds.query(`
        INSERT INTO inbox_notification (user_id, topic, type, title, created_at, read_at, tx_id, tx_horizon)
        VALUES ('old-1', NULL, 'mention', 'd1', now() - interval '3 days', now(), 10, 10),
               ('old-1', NULL, 'mention', 'd2', now() - interval '2 days', NULL, 11, 11),
               (NULL, NULL, 'announcement', 'b1', now() - interval '3 days', NULL, 12, 12),
               (NULL, NULL, 'announcement', 'b2', now() - interval '1 day', NULL, 13, 13),
               (NULL, 'news', 'release', 'n-before', now() - interval '5 days', NULL, 14, 14),
               (NULL, 'news', 'release', 'n1', now() - interval '1 day', NULL, 15, 15),
               (NULL, 'news', 'release', 'n2', now() - interval '1 hour', NULL, 16, 16),
               ('old-2', NULL, 'mention', 'other', now(), NULL, 17, 17)`);
      await ds.query(
        `INSERT INTO inbox_subscription (user_id, topic, created_at, tx_horizon) VALUES ('old-1', 'news', now() - interval '2 days', 15)`,
      );
      await ds.query(`
        INSERT INTO inbox_receipt (user_id, notification_id)
        SELECT 'old-1', id FROM inbox_notification WHERE title IN ('b1', 'n1')`);
    } finally {
      await first.destroy();
    }
    await migrate(db.url);
    const t = await startApp(db.url);
    try {
      expect((await t.service.list('old-1')).items.map((n) => [n.title, n.readAt !== null])).toEqual([
        ['n2', false],
        ['n1', true],
        ['b2', false],
        ['b1', true],
        ['d2', false],
        ['d1', true],
      ]);
      expect(await t.service.unreadCount('old-1')).toBe(3);
      expect(await t.service.unreadCount('old-2')).toBe(3); // its own row and both broadcasts
      // The streams continue where the data left off.
      await t.service.publish('news', { type: 'release', title: 'n3' });
      expect(await t.service.unreadCount('old-1')).toBe(4);
      await t.service.markAllRead('old-1');
      expect(await t.service.unreadCount('old-1')).toBe(0);
    } finally {
      await t.close();
    }

    // And back down: what the watermarks said becomes receipts and read_at again.
    const down = new DataSource({ type: 'postgres', url: db.url, migrations: [...NOTIFICATIONS_MIGRATIONS] });
    await down.initialize();
    try {
      // Every later migration first, then the read model.
      for (let i = 1; i < NOTIFICATIONS_MIGRATIONS.length; i++) await down.undoLastMigration({ transaction: 'all' });
      expect((await down.query(`SELECT name FROM migrations`)).map((m: { name: string }) => m.name)).toEqual([
        'CreateInboxTables1732406400000',
      ]);
      const [{ unread }] = await down.query(`
        SELECT (SELECT count(*) FROM inbox_notification WHERE user_id = 'old-1' AND read_at IS NULL)
             + (SELECT count(*) FROM inbox_notification n WHERE n.user_id IS NULL AND n.topic IS NULL
                  AND NOT EXISTS (SELECT 1 FROM inbox_receipt r WHERE r.user_id = 'old-1' AND r.notification_id = n.id))
             + (SELECT count(*) FROM inbox_notification n WHERE n.topic = 'news'
                  AND NOT EXISTS (SELECT 1 FROM inbox_receipt r WHERE r.user_id = 'old-1' AND r.notification_id = n.id)
                  AND n.title <> 'n-before') AS unread`);
      expect(Number(unread)).toBe(0);
    } finally {
      await down.destroy();
      await db.drop();
    }
  });
});
