import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';

interface Rate {
  type: string;
  kind: string;
  stored: string;
  audience: string | null;
  seen: string;
  read: string;
  avg_seconds_to_read: number | null;
}

/** `inbox_engagement(since, until)`: per-type rates from the read model, marks by id and "mark all" watermarks. */
describe('inbox_engagement, per-type rates in SQL', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  const rates = async (since: Date, until?: Date) =>
    (await t.dataSource.query(`SELECT * FROM inbox_engagement($1, COALESCE($2, now()))`, [since, until ?? null])) as Rate[];
  const dbNow = async () => new Date((await t.dataSource.query(`SELECT clock_timestamp() AS now`))[0].now);

  it('counts stored, audience, seen and read per type and kind, by marks and by watermarks, without expanding broadcasts', async () => {
    const s = t.service;
    await s.notify('u1', { type: 'before-window', title: 'old' });
    const since = await dbNow();
    await s.subscribe('u1', 'news');
    await s.subscribe('u2', 'news');
    const [d1, , d3] = await s.notify(['u1', 'u2', 'u3'], { type: 'invite', title: 'direct' });
    const b1 = (await s.broadcast({ type: 'release', title: 'b1' }))!;
    await s.broadcast({ type: 'release', title: 'b2' });
    const p1 = (await s.publish('news', { type: 'digest', title: 'p1' }))!;
    // Subscribed after p1: not in its audience, even once u4's "mark all" moves past it.
    await s.subscribe('u3', 'news');
    await s.subscribe('u4', 'news');

    await s.markRead('u1', [d1.id, b1.id, p1.id]); // by id: receipts for the shared rows
    await s.markAllRead('u2'); // watermarks: direct, broadcast and topic
    await s.markSeen('u3', [b1.id, d3.id]); // seen, not read
    await s.markAllRead('u4'); // both broadcasts; not p1
    const until = await dbNow();
    await s.notify('u1', { type: 'after-window', title: 'new' });

    const byKey = Object.fromEntries((await rates(since, until)).map((r) => [`${r.type}/${r.kind}`, r]));
    expect(Object.keys(byKey).sort()).toEqual(['digest/topic', 'invite/direct', 'release/broadcast']);
    expect(byKey['invite/direct']).toMatchObject({ stored: '3', audience: '3', seen: '3', read: '2' });
    // b1: read by u1 (receipt), u2 and u4 (watermarks), seen also by u3; b2: read by u2's and u4's watermarks.
    expect(byKey['release/broadcast']).toMatchObject({ stored: '2', audience: null, seen: '6', read: '5' });
    // p1: u1 and u2 were subscribed, u3 and u4 came after; both read it (u1 by id, u2 by watermark).
    expect(byKey['digest/topic']).toMatchObject({ stored: '1', audience: '2', seen: '2', read: '2' });
    for (const r of Object.values(byKey)) {
      expect(r.avg_seconds_to_read).toBeGreaterThanOrEqual(0);
      expect(r.avg_seconds_to_read).toBeLessThan(60);
    }
  });

  it('answers nothing for an empty window; the bisection bounds every row', async () => {
    const future = new Date(Date.now() + 3_600_000);
    expect(await rates(future)).toEqual([]);
    const [{ lo, hi }] = await t.dataSource.query(`SELECT inbox_first_id_at('-infinity') AS lo, inbox_first_id_at('infinity') AS hi`);
    const [{ min, max }] = await t.dataSource.query(`SELECT min(id) AS min, max(id) AS max FROM inbox_notification`);
    expect([lo, hi]).toEqual([min, String(BigInt(max) + 1n)]);
  });
});
