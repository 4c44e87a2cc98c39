import { ClientEvent } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/**
 * What one event may cost (issue 20, part 3): a change by filter selects at most `maxBulkRows`
 * notifications (the watermark forms are O(1) and not limited), a snooze lasts at least
 * `minSnoozeMs` and a user has at most `maxSnoozed` pending, and a user's changes by filter
 * run one at a time. Through the socket and the service, on real Postgres.
 */
describe('bulk limits', () => {
  const MAX_BULK = 50;
  const MAX_SNOOZED = 5;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };
  const scalar = async (sql: string, params: unknown[] = []) => (await t.dataSource.query(sql, params))[0].n as number;
  const ids = async (user: string, filter: object) => (await t.service.list(user, { filter, limit: 100 })).items.map((n) => n.id);
  /** Direct notifications of `type` for `user`, oldest first. */
  const seed = async (user: string, type: string, count: number) => {
    for (let i = 0; i < count; i++) await t.service.notify(user, { type, title: `${type}-${i}` });
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    // minSnoozeMs keeps its default (60 s).
    t = await startApp(db.url, { maxBulkRows: MAX_BULK, maxSnoozed: MAX_SNOOZED });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('refuses a change by filter that selects more than maxBulkRows before writing anything; exactly maxBulkRows goes through', async () => {
    // 30 direct and 21 broadcast ones (each of those a receipt to write): 51 of type promo.
    await seed('bl-1', 'promo', 30);
    for (let i = 0; i < 21; i++) await t.service.broadcast({ type: 'promo', title: `promo-b${i}` });
    await t.service.notify('bl-1', { type: 'message', title: 'other' });
    const c = await connect('bl-1');
    const promos = await ids('bl-1', { type: 'promo' });
    expect(promos).toHaveLength(MAX_BULK + 1);
    const receipts = await scalar(`SELECT count(*)::int AS n FROM inbox_receipt`);
    const badge = await t.service.badge('bl-1');

    const refusal = /filter: selects more than 50 notifications, at most 50 per change \(maxBulkRows\)/;
    for (const event of [ClientEvent.Archive, ClientEvent.Seen, ClientEvent.Delete, ClientEvent.Read]) {
      const answer = await c.request(event, { filter: { type: 'promo' } });
      expect(answer.error, event).toEqual({ code: 'INVALID_INPUT', message: expect.stringMatching(refusal) });
    }
    await expect(t.service.archive('bl-1', { type: 'promo' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(new RegExp(`^archive: ${refusal.source}`)),
    });
    await expect(t.service.markRead('bl-1', { state: 'unread', type: ['promo', 'message'] })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });

    // Nothing changed: no receipt, no row archived, seen, read or deleted.
    expect(await scalar(`SELECT count(*)::int AS n FROM inbox_receipt`)).toBe(receipts);
    expect(
      await scalar(
        `SELECT count(*)::int AS n FROM inbox_notification
          WHERE user_id = 'bl-1' AND (archived IS NOT NULL OR seen_at IS NOT NULL OR read_at IS NOT NULL OR deleted_at IS NOT NULL)`,
      ),
    ).toBe(0);
    expect(await ids('bl-1', { type: 'promo' })).toEqual(promos);
    expect(await t.service.badge('bl-1')).toEqual(badge);

    // One fewer selected: exactly maxBulkRows, which goes through, the broadcasts included.
    await t.service.remove('bl-1', [promos[promos.length - 1]]);
    expect(await c.request(ClientEvent.Archive, { filter: { type: 'promo' } })).toEqual({ changed: MAX_BULK, unread: 1, unseen: 1 });
    expect(await ids('bl-1', { type: 'promo' })).toEqual([]);
    expect(await ids('bl-1', { state: 'archived' })).toEqual(promos.slice(0, MAX_BULK));
    // Back again by filter: the archive holds exactly 50.
    expect(await t.service.unarchive('bl-1', { type: 'promo' })).toMatchObject({ changed: MAX_BULK });
  });

  it('does not limit the watermark forms, which change everything in O(1) rows; unarchive, which has none, is limited', async () => {
    await seed('bl-2', 'note', MAX_BULK + 10);
    const c = await connect('bl-2');
    const receipts = await scalar(`SELECT count(*)::int AS n FROM inbox_receipt`);
    // 60 direct ones and the 21 broadcasts of the test before.
    expect(await c.request(ClientEvent.Seen, { filter: {} })).toEqual({ changed: 81, unread: 81, unseen: 0 });
    expect(await c.request(ClientEvent.Seen, { filter: { state: 'all' } })).toMatchObject({ changed: 0, unseen: 0 });
    expect(await c.request(ClientEvent.Read, { filter: { state: 'unread' } })).toEqual({ changed: 81, unread: 0, unseen: 0 });
    expect(await c.request(ClientEvent.ReadAll, {})).toEqual({ changed: 0, unread: 0, unseen: 0 });
    expect(await c.request(ClientEvent.Archive, { filter: {} })).toMatchObject({ unread: 0 });
    expect(await ids('bl-2', {})).toEqual([]);
    expect(await ids('bl-2', { state: 'archived' })).toHaveLength(81);
    // Unarchiving has no watermark form: the archive (81) is too much at once.
    expect((await c.request(ClientEvent.Unarchive, { filter: {} })).error).toMatchObject({ code: 'INVALID_INPUT' });
    expect(await c.request(ClientEvent.Delete, { filter: { state: 'all' } })).toMatchObject({ unread: 0, unseen: 0 });
    expect(await ids('bl-2', { state: 'all' })).toEqual([]);
    expect(await scalar(`SELECT count(*)::int AS n FROM inbox_receipt`)).toBe(receipts);
  });

  it('refuses a snooze shorter than minSnoozeMs, naming the field, and snoozes nothing', async () => {
    await seed('bl-3', 'reminder', 1);
    const [n] = await ids('bl-3', { type: 'reminder' });
    const c = await connect('bl-3');
    const soon = new Date(Date.now() + 30_000);
    const answer = await c.request(ClientEvent.Snooze, { ids: [n], until: soon.toISOString() });
    expect(answer.error).toEqual({
      code: 'INVALID_INPUT',
      // 30000 less the milliseconds the request took: none at all when it is answered within the millisecond.
      message: expect.stringMatching(/^snooze: until: must be at least 60000 ms away \(minSnoozeMs\), got (30000|2\d{4}) ms$/),
    });
    await expect(t.service.snooze('bl-3', [n], soon)).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/until: .*minSnoozeMs/),
    });
    expect(await scalar(`SELECT count(*)::int AS n FROM inbox_snooze`)).toBe(0);
    expect(await ids('bl-3', { type: 'reminder' })).toEqual([n]);
    // A minute and more is a snooze.
    expect(await c.request(ClientEvent.Snooze, { ids: [n], until: new Date(Date.now() + 61_000).toISOString() })).toMatchObject({
      changed: 1,
    });
  });

  it('refuses the snooze that would pass maxSnoozed pending, storing nothing, on the socket and the service', async () => {
    await seed('bl-4', 'task', 8);
    await seed('bl-4b', 'task', 1);
    const tasks = (await ids('bl-4', { type: 'task' })).reverse();
    const c = await connect('bl-4');
    const until = () => new Date(Date.now() + 3_600_000).toISOString();
    const pending = () => scalar(`SELECT count(*)::int AS n FROM inbox_snooze WHERE user_id = 'bl-4'`);

    expect(await c.request(ClientEvent.Snooze, { ids: tasks.slice(0, 3), until: until() })).toMatchObject({ changed: 3 });
    expect(await c.request(ClientEvent.Snooze, { ids: tasks.slice(3, 6), until: until() })).toEqual({
      error: { code: 'INVALID_INPUT', message: 'snooze: ids: 3 more would make 6 pending snoozes, at most 5 per user (maxSnoozed)' },
    });
    expect(await pending()).toBe(3);
    // Not deleted either: the refused ones are still in the inbox.
    expect(await ids('bl-4', { type: 'task' })).toEqual(tasks.slice(3).reverse());

    expect(await t.service.snooze('bl-4', tasks.slice(3, 5), new Date(until()))).toMatchObject({ changed: 2 });
    await expect(t.service.snooze('bl-4', [tasks[5]], new Date(until()))).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'snooze: ids: 1 more would make 6 pending snoozes, at most 5 per user (maxSnoozed)',
    });
    expect(await pending()).toBe(MAX_SNOOZED);
    expect(await ids('bl-4', { type: 'task' })).toEqual(tasks.slice(5).reverse());
    // Ids the user cannot see add nothing, so they do not count.
    expect(await t.service.snooze('bl-4', await ids('bl-4b', { type: 'task' }), new Date(until()))).toMatchObject({ changed: 0 });
    // The limit is per user.
    expect(await t.service.snooze('bl-4b', await ids('bl-4b', { type: 'task' }), new Date(until()))).toMatchObject({ changed: 1 });
  });

  it('holds maxSnoozed when two instances snooze for the same user at once', async () => {
    const other = await startApp(db.url, { maxBulkRows: MAX_BULK, maxSnoozed: MAX_SNOOZED });
    try {
      for (let round = 0; round < 5; round++) {
        const user = `bl-5-${round}`;
        await seed(user, 'task', 6);
        const tasks = await ids(user, { type: 'task' });
        const until = new Date(Date.now() + 3_600_000);
        const results = await Promise.allSettled([
          t.service.snooze(user, tasks.slice(0, 3), until),
          other.service.snooze(user, tasks.slice(3), until),
        ]);
        expect(results.map((r) => r.status).sort(), `round ${round}`).toEqual(['fulfilled', 'rejected']);
        expect(await scalar(`SELECT count(*)::int AS n FROM inbox_snooze WHERE user_id = $1`, [user])).toBe(3);
        expect(await ids(user, { type: 'task' })).toHaveLength(3);
      }
    } finally {
      await other.close();
    }
  });

  it("runs one socket's 20 changes by filter one at a time, in the order sent", async () => {
    const user = 'bl-6';
    await t.service.remove(user, { state: 'all' });
    for (let i = 0; i < 20; i++) await seed(user, `q${i}`, 2);
    const c = await connect(user);
    // Every UPDATE of the notifications table (a mark's, a mark-all's) holds a lock for 20 ms
    // and records whether another one held it meanwhile: two changes at once would overlap.
    await t.dataSource.query(`
      CREATE TABLE probe (overlapped boolean NOT NULL);
      CREATE FUNCTION probe() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF pg_try_advisory_xact_lock(20203) THEN
          PERFORM pg_sleep(0.02);
          INSERT INTO probe VALUES (false);
        ELSE
          INSERT INTO probe VALUES (true);
        END IF;
        RETURN NULL;
      END $$;
      CREATE TRIGGER probe BEFORE UPDATE ON inbox_notification FOR EACH STATEMENT EXECUTE FUNCTION probe();`);
    try {
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          i % 5 === 4
            ? c.request(ClientEvent.Seen, { filter: {} }) // a watermark form waits its turn too
            : c.request(ClientEvent.Archive, { filter: { type: `q${i}` } }),
        ),
      );
      const probed: { overlapped: boolean }[] = await t.dataSource.query(`SELECT overlapped FROM probe`);
      expect(probed.length).toBeGreaterThanOrEqual(20);
      expect(probed.filter((p) => p.overlapped)).toEqual([]);
      // In the order sent, each answer's badge is the one after it and every one before it.
      let [unread, unseen] = [40, 40];
      answers.forEach((answer, i) => {
        if (i % 5 === 4) {
          expect(answer, `answer ${i}`).toEqual({ changed: unseen, unread, unseen: 0 });
          unseen = 0;
        } else {
          unread -= 2;
          unseen = Math.max(0, unseen - 2);
          expect(answer, `answer ${i}`).toEqual({ changed: 2, unread, unseen });
        }
      });
    } finally {
      await t.dataSource.query(`DROP TRIGGER probe ON inbox_notification; DROP FUNCTION probe(); DROP TABLE probe`);
    }
    const kept = await ids(user, { type: ['q4', 'q9', 'q14', 'q19'] });
    expect(kept).toHaveLength(8);
    expect(await ids(user, {})).toEqual(kept);
  });

  it('lets 20 changes of one user wait at once, and answers the next RATE_LIMITED', async () => {
    const user = 'bl-7';
    await seed(user, 'w', 3);
    await seed(user, 'x', 1);
    const waiting = Array.from({ length: 20 }, () => t.service.markSeen(user, { type: 'w' }));
    await expect(t.service.archive(user, { type: 'w' })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      message: 'archive: 20 changes of this user are running or waiting already; retry once one has answered',
    });
    // By ids does not wait, and is not refused.
    expect(await t.service.markRead(user, await ids(user, { type: 'x' }))).toMatchObject({ changed: 1 });
    expect((await Promise.all(waiting)).map((r) => r.changed)).toEqual([3, ...Array(19).fill(0)]);
    expect(await t.service.archive(user, { type: 'w' })).toMatchObject({ changed: 3 });
  });
});
