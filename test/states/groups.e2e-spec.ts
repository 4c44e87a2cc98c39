import { InvalidInputError, NOTIFICATIONS_MIGRATIONS, type NotificationPayload } from 'nestjs-inbox';
import { Client } from 'pg';
import { Retention } from 'nestjs-inbox/persistence/retention';
import { DataSource } from 'typeorm';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/**
 * Groups (docs/groups.md) through the service and the SQL door: one item per (user, scope, key)
 * while it is unread and not deleted, counted once; state on the item applies to its run; the
 * detail list; dedupe, snooze and scopes with groups; bad keys refused; concurrency.
 */
describe('groups', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const actor = (name: string) => ({ id: name.toLowerCase(), name });
  const comment = (user: string, who: string, more: object = {}) =>
    t.service.notify(user, {
      type: 'comment',
      title: `${who} commented`,
      body: `by ${who}`,
      url: `/p/1#${who}`,
      actor: actor(who),
      group: 'post:1',
      ...more,
    });
  const items = async (user: string, filter: object = {}, opts: object = {}) =>
    (await t.service.list(user, { filter, limit: 100, ...opts })).items;
  const names = (n: NotificationPayload) => n.group?.actors.map((a) => a.name);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { minSnoozeMs: 1000 });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('keeps one item per group while unread: newest content, count, actors newest first; counted once everywhere', async () => {
    const [a] = await comment('g-1', 'Alice');
    expect(a.group).toEqual({ key: 'post:1', count: 1, actors: [actor('Alice')] });
    expect(a.replaces).toBeNull();
    const [b] = await comment('g-1', 'Bob');
    expect(b.replaces).toBe(a.id);
    const [c] = await comment('g-1', 'Carol', { actions: [{ label: 'Reply', url: '/p/1/reply' }] });
    expect(c.replaces).toBe(b.id);
    expect(BigInt(c.id)).toBeGreaterThan(BigInt(b.id));
    await t.service.notify('g-1', { type: 'other', title: 'plain' });

    const list = await items('g-1');
    expect(list.map((n) => n.title)).toEqual(['plain', 'Carol commented']);
    expect(list[1]).toMatchObject({
      id: c.id,
      body: 'by Carol',
      url: '/p/1#Carol',
      actions: [{ label: 'Reply', url: '/p/1/reply' }],
      group: { key: 'post:1', count: 3, actors: [actor('Carol'), actor('Bob'), actor('Alice')] },
      replaces: b.id,
    });
    expect(await t.service.badge('g-1')).toEqual({ unread: 2, unseen: 2 });
    expect(await t.service.unreadCount('g-1')).toBe(2);
    expect(
      await t.service.counts('g-1', {
        inbox: {},
        unread: { state: 'unread' },
        unseen: { state: 'unseen' },
        all: { state: 'all' },
        comments: { type: 'comment' },
        group: { group: 'post:1' },
      }),
    ).toEqual({ inbox: 2, unread: 2, unseen: 2, all: 2, comments: 1, group: 1 });
    for (const state of ['unread', 'unseen', 'all'] as const) {
      expect((await items('g-1', { state })).map((n) => n.id)).toEqual([list[0].id, c.id]);
    }
  });

  it('a view by tags shows the item once, and the detail list by tags every row', async () => {
    for (const who of ['Alice', 'Bob', 'Carol']) await comment('g-19', who, { tags: ['post'] });
    expect((await items('g-19', { tags: ['post'] })).map((n) => n.group?.count)).toEqual([3]);
    expect(await t.service.counts('g-19', { tagged: { tags: ['post'] } })).toEqual({ tagged: 1 });
    expect((await items('g-19', { tags: ['post'], group: 'post:1' })).map((n) => n.group?.count)).toEqual([3, 2, 1]);
  });

  it('actors: the latest 5 distinct (by id, else name), newest first; an actorless one keeps them', async () => {
    for (const who of ['A1', 'A2', 'A1', 'A3', 'A4', 'A5', 'A6']) await comment('g-2', who);
    await t.service.notify('g-2', { type: 'comment', title: 'anonymous', group: 'post:1' });
    await t.service.notify('g-2', { type: 'comment', title: 'by name', actor: { name: 'A5' }, group: 'post:1' });
    const [item] = await items('g-2');
    expect(item.group).toEqual({
      key: 'post:1',
      count: 9,
      actors: [{ name: 'A5' }, actor('A6'), actor('A5'), actor('A4'), actor('A3')],
    });
  });

  it('once read, the next one starts a new item; mark-all-read too', async () => {
    await comment('g-3', 'Alice');
    const [b] = await comment('g-3', 'Bob');
    expect((await t.service.markRead('g-3', [b.id])).changed).toBe(1);
    const [c] = await comment('g-3', 'Carol');
    expect(c.replaces).toBeNull();
    expect(c.group).toEqual({ key: 'post:1', count: 1, actors: [actor('Carol')] });
    expect((await items('g-3')).map((n) => [n.title, n.group?.count, n.readAt !== null])).toEqual([
      ['Carol commented', 1, false],
      ['Bob commented', 2, true],
    ]);
    await t.service.markAllRead('g-3');
    const [d] = await comment('g-3', 'Dave');
    expect(d.replaces).toBeNull();
    expect(await t.service.badge('g-3')).toEqual({ unread: 1, unseen: 1 });
  });

  it('seeing, reading, archiving, deleting the item applies to its run; the detail list shows every row', async () => {
    const ids = [];
    for (const who of ['Alice', 'Bob', 'Carol']) ids.push((await comment('g-4', who))[0].id);
    const detail = await items('g-4', { group: 'post:1' });
    expect(detail.map((n) => n.id)).toEqual([...ids].reverse());
    expect(detail.map((n) => n.group?.count)).toEqual([3, 2, 1]);

    expect((await t.service.markSeen('g-4', [ids[2]])).changed).toBe(1);
    expect((await items('g-4', { group: 'post:1' })).every((n) => n.seenAt !== null)).toBe(true);
    expect((await t.service.archive('g-4', [ids[2]])).changed).toBe(1);
    expect(await items('g-4')).toEqual([]);
    expect((await items('g-4', { state: 'archived' })).map((n) => n.id)).toEqual([ids[2]]);
    expect((await items('g-4', { group: 'post:1', state: 'archived' })).map((n) => n.id)).toEqual([...ids].reverse());
    // Archived but unread: a new comment joins the item (which is back in the inbox, as new).
    const [d] = await comment('g-4', 'Dave');
    expect(d.replaces).toBe(ids[2]);
    expect((await items('g-4')).map((n) => n.id)).toEqual([d.id]);
    expect((await items('g-4', { state: 'archived' })).map((n) => n.id)).toEqual([]);

    expect((await t.service.markRead('g-4', [d.id])).changed).toBe(1);
    expect((await items('g-4', { group: 'post:1', state: 'all' })).every((n) => n.readAt !== null)).toBe(true);
    expect((await t.service.remove('g-4', [d.id])).changed).toBe(1);
    expect(await items('g-4', { group: 'post:1', state: 'all' })).toEqual([]);
    const [e] = await comment('g-4', 'Eve');
    expect(e.replaces).toBeNull();
    expect(e.group?.count).toBe(1);
  });

  it('a stale id of the run (a superseded one) changes the current item too', async () => {
    const [a] = await comment('g-5', 'Alice');
    const [b] = await comment('g-5', 'Bob');
    expect((await t.service.markRead('g-5', [a.id])).changed).toBe(2);
    expect((await items('g-5', { state: 'unread' })).length).toBe(0);
    expect((await items('g-5'))[0]).toMatchObject({ id: b.id });
  });

  it('snoozing the item hides its run; it comes back as one notification of the group', async () => {
    await comment('g-6', 'Alice');
    const [b] = await comment('g-6', 'Bob');
    const until = new Date(Date.now() + 1100);
    expect(await t.service.snooze('g-6', [b.id], until)).toMatchObject({ changed: 1 });
    expect(await items('g-6', { state: 'all' })).toEqual([]);
    expect(await t.service.badge('g-6')).toEqual({ unread: 0, unseen: 0 });
    const deadline = Date.now() + 10_000;
    let back: NotificationPayload[] = [];
    while (back.length === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      back = await items('g-6');
    }
    expect(back.map((n) => [n.title, n.group?.key])).toEqual([['Bob commented', 'post:1']]);
    expect(await t.service.badge('g-6')).toEqual({ unread: 1, unseen: 1 });
  });

  it('a deduplicated notification neither joins nor supersedes', async () => {
    const [a] = await comment('g-7', 'Alice', { dedupeKey: 'c-1' });
    expect(await comment('g-7', 'Alice again', { dedupeKey: 'c-1' })).toEqual([]);
    const list = await items('g-7');
    expect(list.map((n) => [n.id, n.group?.count])).toEqual([[a.id, 1]]);
  });

  it('retention deletes old rows whatever their group; a group whose item went starts again', async () => {
    const [a] = await comment('g-18', 'Alice');
    const [b] = await comment('g-18', 'Bob');
    // Older than the retention's 30 days: the whole run.
    await t.dataSource.query(`UPDATE inbox_notification SET created_at = now() - interval '40 days' WHERE id IN ($1, $2)`, [a.id, b.id]);
    const pruner = await startApp(db.url, { retention: { days: 30, intervalMs: 3_600_000, batchSize: 10_000 } }, { gateway: false });
    try {
      await pruner.app.get(Retention).prune();
    } finally {
      await pruner.close();
    }
    expect(await items('g-18', { group: 'post:1', state: 'all' })).toEqual([]);
    const [c] = await comment('g-18', 'Carol');
    expect(c).toMatchObject({ replaces: null, group: { count: 1 } });
    expect(await t.service.badge('g-18')).toEqual({ unread: 1, unseen: 1 });
  });

  it('the same key in two scopes, or for two users, is two groups', async () => {
    await comment('g-8', 'Alice', { scope: 'acme' });
    await comment('g-8', 'Bob', { scope: 'globex' });
    await comment('g-8', 'Carol', { scope: 'acme' });
    await comment('g-8', 'Dave');
    await comment('g-9', 'Eve');
    const acme = await items('g-8', {}, { scope: 'acme' });
    expect(acme.map((n) => [n.title, n.scope, n.group?.count])).toEqual([
      ['Dave commented', null, 1],
      ['Carol commented', 'acme', 2],
    ]);
    const globex = await items('g-8', {}, { scope: 'globex' });
    expect(globex.map((n) => [n.title, n.group?.count])).toEqual([
      ['Dave commented', 1],
      ['Bob commented', 1],
    ]);
    expect((await items('g-9')).map((n) => n.group?.count)).toEqual([1]);
    expect(await t.service.badge('g-8', { scope: 'acme' })).toEqual({ unread: 2, unseen: 2 });
  });

  it('refuses bad keys, and groups on broadcasts and publications, naming the field; stores nothing', async () => {
    for (const group of ['', 'x'.repeat(201), 5, {}, 'a\u0000b']) {
      await expect(t.service.notify('g-10', { type: 'c', group } as never)).rejects.toThrow(InvalidInputError);
      await expect(t.service.notify('g-10', { type: 'c', group } as never)).rejects.toThrow(/notification: group/);
    }
    await expect(t.service.broadcast({ type: 'c', group: 'k' })).rejects.toThrow(/group: groups apply to notifications to users/);
    await expect(t.service.publish('news', { type: 'c', group: 'k' })).rejects.toThrow(/group: groups apply to notifications to users/);
    expect(await items('g-10', { state: 'all' })).toEqual([]);
    await expect(t.service.list('g-10', { filter: { group: '' } })).rejects.toThrow(/group/);

    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      for (const [call, message] of [
        [`SELECT inbox_notify(ARRAY['g-10'], '{"type":"c","group":""}'::jsonb)`, /notification\.group: must be a string of 1 to 200/],
        [`SELECT inbox_notify(ARRAY['g-10'], '{"type":"c","group":5}'::jsonb)`, /notification\.group: must be a string of 1 to 200/],
        [`SELECT inbox_notify(ARRAY['g-10'], '{"type":"c","group":"${'x'.repeat(201)}"}'::jsonb)`, /notification\.group/],
        [`SELECT inbox_broadcast('{"type":"c","group":"k"}'::jsonb)`, /notification\.group: groups apply to notifications to users/],
        [`SELECT inbox_publish('news', '{"type":"c","group":"k"}'::jsonb)`, /notification\.group: groups apply/],
      ] as const) {
        await expect(pg.query(call)).rejects.toMatchObject({ code: '22023', message: expect.stringMatching(message) });
      }
      const [{ n }] = (await pg.query(`SELECT count(*)::int AS n FROM inbox_notification WHERE user_id = 'g-10' OR user_id IS NULL`)).rows;
      expect(n).toBe(0);
    } finally {
      await pg.end();
    }
  });

  it('the SQL door groups like the service, in the caller’s transaction', async () => {
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const [a] = await comment('g-11', 'Alice');
      const { rows } = await pg.query(
        `SELECT inbox_notify(ARRAY['g-11'], '{"type":"comment","title":"Bob commented","actor":{"id":"bob","name":"Bob"},"group":"post:1"}'::jsonb) AS ids`,
      );
      const list = await items('g-11');
      expect(list.map((n) => [n.id, n.title, n.group?.count, n.replaces])).toEqual([[rows[0].ids[0], 'Bob commented', 2, a.id]]);
      expect(names(list[0])).toEqual(['Bob', 'Alice']);
    } finally {
      await pg.end();
    }
  });

  it('what the SQL door groups reaches the user live with replaces, through the listener', async () => {
    const tab = await TestClient.connect(t.url, 'g-17');
    const pg = new Client({ connectionString: db.url });
    await pg.connect();
    try {
      const notify = async (title: string) =>
        (
          await pg.query(`SELECT inbox_notify(ARRAY['g-17'], $1::jsonb) AS ids`, [
            JSON.stringify({ type: 'comment', title, actor: { name: title }, group: 'post:1' }),
          ])
        ).rows[0].ids[0] as string;
      const first = await notify('one');
      await tab.waitForTitle('one');
      const second = await notify('two');
      expect(await tab.waitForTitle('two')).toMatchObject({
        id: second,
        replaces: first,
        group: { key: 'post:1', count: 2, actors: [{ name: 'two' }, { name: 'one' }] },
      });
    } finally {
      tab.close();
      await pg.end();
    }
  });

  it('refuses to group in a REPEATABLE READ transaction, with a clear error', async () => {
    const err = await t.dataSource
      .transaction('REPEATABLE READ', (manager) => t.service.notify('g-12', { type: 'c', group: 'k' }, { manager }))
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(/grouping needs a READ COMMITTED transaction/);
    expect(await items('g-12', { state: 'all' })).toEqual([]);
  });

  it('50 concurrent transactions grouping into one key, half of them through the SQL door: one unread item, the exact count, no deadlock', async () => {
    const conns = await Promise.all(
      Array.from({ length: 6 }, async () => {
        const c = new Client({ connectionString: db.url });
        await c.connect();
        return c;
      }),
    );
    try {
      const viaSql = async (i: number) => {
        const c = conns[i % conns.length];
        // One connection runs one transaction at a time: queue on it.
        const run = async () => {
          await c.query('BEGIN');
          await c.query(`SELECT inbox_notify(ARRAY['g-13', 'g-14'], $1::jsonb)`, [
            JSON.stringify({ type: 'comment', title: `sql ${i}`, actor: { id: `u${i}` }, group: 'hot' }),
          ]);
          await c.query('COMMIT');
        };
        const queue = ((c as unknown as { queue?: Promise<unknown> }).queue ?? Promise.resolve()).then(run);
        (c as unknown as { queue?: Promise<unknown> }).queue = queue.catch(() => undefined);
        return queue;
      };
      const viaService = (i: number) =>
        t.service.notify(['g-14', 'g-13'], { type: 'comment', title: `svc ${i}`, actor: { id: `u${i}` }, group: 'hot' });
      await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? viaSql(i) : viaService(i))));
      for (const user of ['g-13', 'g-14']) {
        const list = await items(user, { state: 'all' });
        expect(list.length).toBe(1);
        expect(list[0].group?.count).toBe(50);
        expect(list[0].group?.actors.length).toBe(5);
        expect(await t.service.badge(user)).toEqual({ unread: 1, unseen: 1 });
        const detail = await items(user, { group: 'hot' });
        expect(detail.length).toBe(50);
        // Each row replaced the one before it: one chain, counts 1..50.
        expect(detail.map((n) => n.group?.count)).toEqual(Array.from({ length: 50 }, (_, i) => 50 - i));
        expect(detail.slice(0, -1).map((n) => n.replaces)).toEqual(detail.slice(1).map((n) => n.id));
      }
    } finally {
      await Promise.all(conns.map((c) => c.end()));
    }
  });

  it('a transaction that rolls back leaves the previous item current', async () => {
    const [a] = await comment('g-15', 'Alice');
    await expect(
      t.dataSource.transaction(async (manager) => {
        await t.service.notify('g-15', { type: 'comment', title: 'Bob commented', actor: actor('Bob'), group: 'post:1' }, { manager });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    const [c] = await comment('g-15', 'Carol');
    expect(c.replaces).toBe(a.id);
    expect(c.group).toEqual({ key: 'post:1', count: 2, actors: [actor('Carol'), actor('Alice')] });
    expect((await items('g-15')).map((n) => n.id)).toEqual([c.id]);
  });

  it('a manager outside any transaction: grouped in a transaction of its own', async () => {
    const [a] = await t.service.notify('g-20', { type: 'c', title: 'one', group: 'k' }, { manager: t.dataSource.manager });
    const [b] = await t.service.notify('g-20', { type: 'c', title: 'two', group: 'k' }, { manager: t.dataSource.manager });
    expect(b).toMatchObject({ replaces: a.id, group: { count: 2 } });
    expect((await items('g-20')).map((n) => n.id)).toEqual([b.id]);
  });

  it('two groupings in one caller transaction chain; nothing is visible before it commits', async () => {
    const ds: DataSource = t.dataSource;
    const ids = await ds.transaction(async (manager) => {
      const [a] = await t.service.notify('g-16', { type: 'c', title: 'one', group: 'k' }, { manager });
      const [b] = await t.service.notify('g-16', { type: 'c', title: 'two', group: 'k' }, { manager });
      expect(b.replaces).toBe(a.id);
      expect(await items('g-16')).toEqual([]);
      return [a.id, b.id];
    });
    expect((await items('g-16')).map((n) => [n.id, n.group?.count])).toEqual([[ids[1], 2]]);
  });

  it('migrates down and up again: superseded rows go with the columns, the items stay', async () => {
    const other = await createDatabase();
    const ds = new DataSource({ type: 'postgres', url: other.url, migrations: [...NOTIFICATIONS_MIGRATIONS] });
    await ds.initialize();
    try {
      await ds.runMigrations();
      await ds.query(`SELECT inbox_notify(ARRAY['m-1'], '{"type":"c","title":"one","group":"k"}'::jsonb)`);
      await ds.query(`SELECT inbox_notify(ARRAY['m-1'], '{"type":"c","title":"two","group":"k"}'::jsonb)`);
      // The migrations after InboxGroups first, then it.
      const at = NOTIFICATIONS_MIGRATIONS.findIndex((m) => m.name === 'InboxGroups1764633600000');
      for (let i = at; i < NOTIFICATIONS_MIGRATIONS.length; i++) await ds.undoLastMigration({ transaction: 'all' });
      expect(await ds.query(`SELECT title FROM inbox_notification`)).toEqual([{ title: 'two' }]);
      await expect(ds.query(`SELECT inbox_notify(ARRAY['m-1'], '{"type":"c","group":"k"}'::jsonb)`)).rejects.toThrow(
        /notification\.group: unknown field/,
      );
      await ds.runMigrations();
      await ds.query(`SELECT inbox_notify(ARRAY['m-1'], '{"type":"c","title":"three","group":"k"}'::jsonb)`);
      expect(await ds.query(`SELECT title, group_count FROM inbox_notification ORDER BY id`)).toEqual([
        { title: 'two', group_count: null },
        { title: 'three', group_count: 1 },
      ]);
    } finally {
      await ds.destroy();
      await other.drop();
    }
  });
});
