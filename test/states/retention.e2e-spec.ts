import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';

/** Polls `check` until it holds, failing after `ms`: the pruning job runs on its own timer. */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('retention', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let apps: TestApp[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await db?.drop();
  });

  it('deletes old and expired rows in small batches with two instances running the job, and keeps counts exact', async () => {
    const retention = { days: 30, intervalMs: 100, batchSize: 3 };
    // Two instances: the advisory lock lets one prune at a time; both run the job.
    apps = [await startApp(db.url, { retention }, { gateway: false }), await startApp(db.url, { retention }, { gateway: false })];
    const [t] = apps;
    const q = (sql: string, params: unknown[] = []) => t.dataSource.query(sql, params);
    await t.service.subscribe('ret-1', 'ret-news');
    const old: string[] = [];
    for (let i = 0; i < 5; i++) old.push((await t.service.notify('ret-1', { type: 't', title: `old ${i}` }))[0].id);
    for (let i = 0; i < 4; i++) old.push((await t.service.broadcast({ type: 't', title: `old b${i}` }))!.id);
    for (let i = 0; i < 2; i++) old.push((await t.service.publish('ret-news', { type: 't', title: `old p${i}` }))!.id);
    await t.service.markRead('ret-1', [old[5]]); // a receipt that must go with its row
    // Made 40 days ago, as far as retention can tell.
    // Live deliveries recorded for each (deliveryRecord), before the job may take the rows: they go with them.
    const recordDeliveries = (ids: string[]) =>
      q(`INSERT INTO inbox_delivery (notification_id, type, kind, live) SELECT unnest($1::bigint[]), 't', 'direct', 1`, [ids]);
    await recordDeliveries(old);
    await q(`UPDATE inbox_notification SET created_at = now() - interval '40 days' WHERE id = ANY($1::bigint[])`, [old]);

    const [kept] = await t.service.notify('ret-1', { type: 't', title: 'kept' });
    const keptBroadcast = await t.service.broadcast({ type: 't', title: 'kept b' });
    const [expiring] = await t.service.notify('ret-1', { type: 't', title: 'expiring', expiresAt: new Date(Date.now() + 60_000) });
    const expiringBroadcast = await t.service.broadcast({ type: 't', title: 'expiring b', expiresAt: new Date(Date.now() + 60_000) });
    const everyId = [...old, kept.id, keptBroadcast!.id, expiring.id, expiringBroadcast!.id];
    await recordDeliveries(everyId.slice(old.length));
    await q(`UPDATE inbox_notification SET expires_at = now() - interval '1 second' WHERE id = ANY($1::bigint[])`, [
      [expiring.id, expiringBroadcast!.id],
    ]);

    await until('every old and expired row is pruned', async () => {
      const [{ n }] = await q(`SELECT count(*)::int AS n FROM inbox_notification WHERE id = ANY($1::bigint[])`, [[...old, expiring.id]]);
      const [{ stripped }] = await q(`SELECT (title IS NULL AND data IS NULL) AS stripped FROM inbox_notification WHERE id = $1`, [
        expiringBroadcast!.id,
      ]);
      return n === 0 && stripped;
    });
    expect(await q(`SELECT count(*)::int AS n FROM inbox_receipt WHERE user_id = 'ret-1'`)).toEqual([{ n: 0 }]);
    const delivered = await q(
      `SELECT notification_id::text AS id FROM inbox_delivery WHERE notification_id = ANY($1::bigint[]) ORDER BY 1`,
      [everyId],
    );
    expect(delivered.map((r: { id: string }) => r.id)).toEqual([kept.id, keptBroadcast!.id, expiringBroadcast!.id].sort());
    // What is left is listed and counted exactly: the expired broadcast keeps its position, unlisted.
    expect((await t.service.list('ret-1')).items.map((n) => n.id)).toEqual([keptBroadcast!.id, kept.id]);
    expect(await t.service.unreadCount('ret-1')).toBe(2);
    expect(await t.service.unreadCount('ret-2')).toBe(1);
    await t.service.markAllRead('ret-1');
    await t.service.broadcast({ type: 't', title: 'new' });
    expect(await t.service.unreadCount('ret-1')).toBe(1);
  });
});
