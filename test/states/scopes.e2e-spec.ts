import { ClientEvent, InvalidInputError, NOTIFICATIONS_MIGRATIONS, type ScopeOption } from 'nestjs-inbox';
import { Retention } from 'nestjs-inbox/persistence/retention';
import { CatchUpService } from 'nestjs-inbox/service/catch-up.service';
import { DataSource } from 'typeorm';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** Polls `check` until it holds, failing after `ms`: a snooze comes back on its own timer. */
async function until(what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Scopes (docs/scopes.md) through the service: the inbox (user, scope) shows the scope's and the
 * unscoped notifications, never another scope's; state on an unscoped notification is shared by
 * the user's scopes, on a scoped one it is the scope's; preferences, subscriptions, snoozes are
 * per inbox; bad scopes are refused everywhere with the field named, storing nothing.
 */
describe('scopes', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const A = { scope: 'acme' };
  const B = { scope: 'globex' };
  const titles = async (user: string, opts: ScopeOption = {}, filter: object = {}) =>
    (await t.service.list(user, { filter, limit: 100, ...opts })).items.map((n) => n.title);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { canSubscribe: () => true, minSnoozeMs: 1000 });
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /**
   * A user without the broadcasts of the tests before (every user sees them): deleting all in
   * both scopes deletes the unscoped ones too.
   */
  async function fresh(user: string) {
    for (const opts of [A, B]) await t.service.remove(user, { state: 'all' }, opts);
  }

  /**
   * For `user`, titled `<scope letter>-<kind>`: direct, broadcast and publication (of `topic`,
   * subscribed in every inbox) unscoped (u), in acme (a) and in globex (b).
   */
  async function seed(user: string, topic: string) {
    await fresh(user);
    for (const opts of [{}, A, B]) await t.service.subscribe(user, topic, opts);
    const ids: Record<string, string> = {};
    for (const [letter, scope] of [
      ['u', undefined],
      ['a', A.scope],
      ['b', B.scope],
    ] as const) {
      ids[`${letter}-d`] = (await t.service.notify(user, { type: 'message', title: `${letter}-d`, tags: ['x'], scope }))[0].id;
      ids[`${letter}-b`] = (await t.service.broadcast({ type: 'announcement', title: `${letter}-b`, scope }))!.id;
      ids[`${letter}-t`] = (await t.service.publish(topic, { type: 'release', title: `${letter}-t`, tags: ['x'], scope }))!.id;
    }
    return ids;
  }

  it("shows the scope's and the unscoped notifications, never another scope's: list, views, counts, badge, catch-up", async () => {
    await seed('sc-1', 'sc-news');
    expect(await titles('sc-1', A)).toEqual(['a-t', 'a-b', 'a-d', 'u-t', 'u-b', 'u-d']);
    expect(await titles('sc-1', B)).toEqual(['b-t', 'b-b', 'b-d', 'u-t', 'u-b', 'u-d']);
    // The unscoped inbox: only unscoped notifications (what an install without scopes shows).
    expect(await titles('sc-1')).toEqual(['u-t', 'u-b', 'u-d']);
    expect(await titles('sc-1', { scope: null })).toEqual(['u-t', 'u-b', 'u-d']);
    expect((await t.service.list('sc-1', { ...A, limit: 100 })).items.map((n) => [n.title, n.scope])).toEqual([
      ['a-t', 'acme'],
      ['a-b', 'acme'],
      ['a-d', 'acme'],
      ['u-t', null],
      ['u-b', null],
      ['u-d', null],
    ]);
    // Views: a topic's, a type's, tags (their own index walk, by owner), pages.
    expect(await titles('sc-1', A, { topic: 'sc-news' })).toEqual(['a-t', 'u-t']);
    expect(await titles('sc-1', B, { type: 'message' })).toEqual(['b-d', 'u-d']);
    expect(await titles('sc-1', A, { tags: ['x'] })).toEqual(['a-t', 'a-d', 'u-t', 'u-d']);
    expect(await titles('sc-1', {}, { tags: ['x'] })).toEqual(['u-t', 'u-d']);
    const page = await t.service.list('sc-1', { ...B, limit: 4 });
    expect(page.items.map((n) => n.title)).toEqual(['b-t', 'b-b', 'b-d', 'u-t']);
    expect((await t.service.list('sc-1', { ...B, limit: 4, before: page.nextCursor! })).items.map((n) => n.title)).toEqual(['u-b', 'u-d']);

    expect(await t.service.badge('sc-1', A)).toEqual({ unread: 6, unseen: 6 });
    expect(await t.service.badge('sc-1', B)).toEqual({ unread: 6, unseen: 6 });
    expect(await t.service.badge('sc-1')).toEqual({ unread: 3, unseen: 3 });
    expect(await t.service.unreadCount('sc-1', A)).toBe(6);
    const views = { all: {}, news: { topic: 'sc-news' }, messages: { type: 'message' }, tagged: { tags: ['x'] } };
    expect(await t.service.counts('sc-1', views, A)).toEqual({ all: 6, news: 2, messages: 2, tagged: 4 });
    expect(await t.service.counts('sc-1', views)).toEqual({ all: 3, news: 1, messages: 1, tagged: 2 });

    // A connecting socket's catch-up (first visit, then from a cursor) is of its inbox.
    const catchUp = t.app.get(CatchUpService);
    const inB = await catchUp.since({ userId: 'sc-1', scope: 'globex' }, null);
    expect(inB.missed.map((n) => n.title)).toEqual(['u-d', 'u-b', 'u-t', 'b-d', 'b-b', 'b-t']);
    expect(inB).toMatchObject({ unread: 6, unseen: 6 });
    const first = await catchUp.since({ userId: 'sc-1', scope: 'acme' }, null);
    expect(first.missed.map((n) => n.title)).toEqual(['u-d', 'u-b', 'u-t', 'a-d', 'a-b', 'a-t']);
    const [later] = await t.service.notify('sc-1', { type: 'message', title: 'a-later', scope: 'acme' });
    await t.service.notify('sc-1', { type: 'message', title: 'b-later', scope: 'globex' });
    const again = await catchUp.since(
      { userId: 'sc-1', scope: 'acme' },
      first.cursor,
      first.missed.map((n) => n.id),
    );
    expect(again.missed.map((n) => n.title)).toEqual(['a-later']);
    expect(again.missed[0].id).toBe(later.id);
    expect(again).toMatchObject({ unread: 7, unseen: 7 });
  });

  it("never lets a socket's list payload name a scope: the socket's inbox is its handshake's", async () => {
    await seed('sc-sock', 'sc-sock-news');
    const c = await TestClient.connect(t.url, 'sc-sock');
    try {
      expect(await c.request(ClientEvent.List, { scope: 'acme' })).toEqual({
        error: { code: 'INVALID_INPUT', message: expect.stringMatching(/^notifications:list: scope: not a list field/) },
      });
      expect((await c.list({ limit: 100 })).items.map((n) => n.title)).toEqual(['u-t', 'u-b', 'u-d']);
    } finally {
      c.close();
    }
  });

  it('shares the state of unscoped notifications across scopes and keeps a scoped one its own', async () => {
    const ids = await seed('sc-2', 'sc-2-news');
    // Read in acme: read in globex and in the unscoped inbox too.
    expect(await t.service.markRead('sc-2', [ids['u-d'], ids['u-b'], ids['u-t'], ids['a-d']], A)).toMatchObject({
      changed: 4,
      unread: 2,
    });
    expect(await t.service.badge('sc-2', B)).toEqual({ unread: 3, unseen: 3 });
    expect(await t.service.badge('sc-2')).toEqual({ unread: 0, unseen: 0 });
    const inB = (await t.service.list('sc-2', { ...B, limit: 100 })).items;
    expect(inB.filter((n) => n.readAt !== null).map((n) => n.title)).toEqual(['u-t', 'u-b', 'u-d']);
    // Another scope's ids are ignored like another user's, from a scope and from the unscoped inbox.
    for (const opts of [A, {}]) {
      expect(await t.service.markRead('sc-2', [ids['b-d'], ids['b-b'], ids['b-t']], opts)).toMatchObject({ changed: 0 });
      expect(await t.service.archive('sc-2', [ids['b-d'], ids['b-b']], opts)).toMatchObject({ changed: 0 });
      expect(await t.service.remove('sc-2', [ids['b-d'], ids['b-t']], opts)).toMatchObject({ changed: 0 });
    }
    expect(await titles('sc-2', B)).toEqual(['b-t', 'b-b', 'b-d', 'u-t', 'u-b', 'u-d']);
    expect(await t.service.badge('sc-2', B)).toEqual({ unread: 3, unseen: 3 });

    // Archived and unarchived one by one: the unscoped one in every inbox, the scoped one in its own.
    await t.service.archive('sc-2', [ids['u-b'], ids['a-b']], A);
    expect(await titles('sc-2', B, { state: 'archived' })).toEqual(['u-b']);
    expect(await titles('sc-2', A, { state: 'archived' })).toEqual(['a-b', 'u-b']);
    await t.service.unarchive('sc-2', [ids['u-b']], B);
    expect(await titles('sc-2', A, { state: 'archived' })).toEqual(['a-b']);
    expect(await titles('sc-2', {}, { state: 'archived' })).toEqual([]);
    // Seen: a scoped one in its scope only.
    expect(await t.service.markSeen('sc-2', [ids['b-t']])).toMatchObject({ changed: 0 });
    expect(await t.service.markSeen('sc-2', [ids['b-t']], B)).toMatchObject({ changed: 1, unread: 3, unseen: 2 });
  });

  it('marks all and changes in bulk exactly what the inbox shows: its scope and the unscoped rows, never another scope', async () => {
    await seed('sc-3', 'sc-3-news');
    expect(await t.service.markAllRead('sc-3', A)).toMatchObject({ changed: 6, unread: 0, unseen: 0 });
    expect(await t.service.badge('sc-3')).toEqual({ unread: 0, unseen: 0 });
    expect(await t.service.badge('sc-3', B)).toEqual({ unread: 3, unseen: 3 });
    expect(await t.service.counts('sc-3', { all: {}, news: { topic: 'sc-3-news' } }, B)).toEqual({ all: 3, news: 1 });
    expect((await t.service.list('sc-3', { ...B, limit: 100, filter: { state: 'unread' } })).items.map((n) => n.title)).toEqual([
      'b-t',
      'b-b',
      'b-d',
    ]);
    // Newer ones after the mark-all stay unread, in every inbox that shows them.
    await t.service.broadcast({ type: 'announcement', title: 'u-b2' });
    await t.service.notify('sc-3', { type: 'message', title: 'a-d2', scope: 'acme' });
    expect(await titles('sc-3', A, { state: 'unread' })).toEqual(['a-d2', 'u-b2']);
    expect(await titles('sc-3', B, { state: 'unread' })).toEqual(['u-b2', 'b-t', 'b-b', 'b-d']);

    // Mark all seen, archive all and delete all in globex.
    expect(await t.service.markSeen('sc-3', {}, B)).toMatchObject({ changed: 4, unseen: 0 });
    // The unscoped broadcast is seen in acme too, still unread there.
    expect(await t.service.badge('sc-3', A)).toEqual({ unread: 2, unseen: 1 });
    expect(await t.service.archive('sc-3', {}, B)).toMatchObject({ unread: 0 });
    expect(await titles('sc-3', B)).toEqual([]);
    expect(await titles('sc-3', A)).toEqual(['a-d2', 'a-t', 'a-b', 'a-d']);
    expect(await titles('sc-3', A, { state: 'archived' })).toEqual(['u-b2', 'u-t', 'u-b', 'u-d']);
    expect(await t.service.unarchive('sc-3', {}, A)).toMatchObject({ changed: 4 });
    expect(await titles('sc-3', B)).toEqual(['u-b2', 'u-t', 'u-b', 'u-d']);
    expect(await titles('sc-3', B, { state: 'archived' })).toEqual(['b-t', 'b-b', 'b-d']);

    // A bulk change by filter (batches of rows) in acme: its messages and the unscoped one.
    await t.service.notify('sc-3', { type: 'message', title: 'b-d2', scope: 'globex' });
    expect(await t.service.markRead('sc-3', { type: 'message', state: 'all' }, A)).toMatchObject({ changed: 1 });
    expect(await t.service.remove('sc-3', { type: 'message' }, A)).toMatchObject({ changed: 3 });
    expect(await titles('sc-3', A, { state: 'all' })).toEqual(['u-b2', 'a-t', 'a-b', 'u-t', 'u-b']);
    expect(await titles('sc-3', B, { state: 'all' })).toEqual(['b-d2', 'u-b2', 'b-t', 'b-b', 'b-d', 'u-t', 'u-b']);

    expect(await t.service.remove('sc-3', { state: 'all' }, B)).toMatchObject({ unread: 0, unseen: 0 });
    expect(await titles('sc-3', B, { state: 'all' })).toEqual([]);
    expect(await titles('sc-3', A, { state: 'all' })).toEqual(['a-t', 'a-b']);
  });

  it('keeps preferences per inbox, applied to everything it shows (the unscoped notifications too)', async () => {
    await seed('sc-4', 'sc-4-news');
    expect(await t.service.setPreferences('sc-4', { muted: { types: ['message'], topics: ['sc-4-news'] } }, A)).toEqual({
      channels: {},
      quietHours: null,
      muted: { types: ['message'], topics: ['sc-4-news'] },
    });
    expect(await t.service.getPreferences('sc-4', A)).toEqual({
      channels: {},
      quietHours: null,
      muted: { types: ['message'], topics: ['sc-4-news'] },
    });
    expect(await t.service.getPreferences('sc-4', B)).toEqual({ channels: {}, quietHours: null, muted: { types: [], topics: [] } });
    expect(await t.service.getPreferences('sc-4')).toEqual({ channels: {}, quietHours: null, muted: { types: [], topics: [] } });
    // Muted in acme: neither its messages nor the unscoped one, nor the topic's publications, are counted there.
    expect(await t.service.badge('sc-4', A)).toEqual({ unread: 2, unseen: 2 });
    expect(await t.service.counts('sc-4', { all: {}, messages: { type: 'message' } }, A)).toEqual({ all: 2, messages: 0 });
    expect(await t.service.badge('sc-4', B)).toEqual({ unread: 6, unseen: 6 });
    expect(await t.service.badge('sc-4')).toEqual({ unread: 3, unseen: 3 });
    // Muted notifications are listed as usual.
    expect(await titles('sc-4', A)).toEqual(['a-t', 'a-b', 'a-d', 'u-t', 'u-b', 'u-d']);

    await t.service.setPreferences('sc-4', { muted: { types: ['announcement'] } });
    expect(await t.service.badge('sc-4')).toEqual({ unread: 2, unseen: 2 });
    expect(await t.service.getPreferences('sc-4', A)).toEqual({
      channels: {},
      quietHours: null,
      muted: { types: ['message'], topics: ['sc-4-news'] },
    });
    expect(await t.service.badge('sc-4', B)).toEqual({ unread: 6, unseen: 6 });
  });

  it('subscribes per scope: a scope gets its publications, and the unscoped ones of unscoped subscriptions', async () => {
    await fresh('sc-5');
    await t.service.subscribe('sc-5', 'sc-5-news', A);
    await t.service.publish('sc-5-news', { type: 'release', title: 'a-1', scope: 'acme' });
    await t.service.publish('sc-5-news', { type: 'release', title: 'b-1', scope: 'globex' });
    await t.service.publish('sc-5-news', { type: 'release', title: 'u-1' });
    expect(await titles('sc-5', A)).toEqual(['a-1']);
    expect(await titles('sc-5', B)).toEqual([]);
    expect(await titles('sc-5')).toEqual([]);

    await t.service.subscribe('sc-5', 'sc-5-news');
    await t.service.publish('sc-5-news', { type: 'release', title: 'u-2' });
    await t.service.publish('sc-5-news', { type: 'release', title: 'a-2', scope: 'acme' });
    expect(await titles('sc-5', A)).toEqual(['a-2', 'u-2', 'a-1']);
    expect(await titles('sc-5', B)).toEqual(['u-2']);
    expect(await titles('sc-5')).toEqual(['u-2']);
    expect(await t.service.badge('sc-5', A)).toEqual({ unread: 3, unseen: 3 });

    // Unsubscribing in acme leaves the unscoped subscription.
    await t.service.unsubscribe('sc-5', 'sc-5-news', A);
    expect(await titles('sc-5', A)).toEqual(['u-2']);
    expect(await t.service.badge('sc-5', A)).toEqual({ unread: 1, unseen: 1 });
    expect(await t.dataSource.query(`SELECT topic, scope FROM inbox_subscription WHERE user_id = 'sc-5'`)).toEqual([
      { topic: 'sc-5-news', scope: '' },
    ]);
  });

  it('snoozes in an inbox: the copy comes back in the original scope; another scope cannot snooze it', async () => {
    await fresh('sc-6');
    const [scoped] = await t.service.notify('sc-6', { type: 'message', title: 'a-snoozed', scope: 'acme' });
    const [unscoped] = await t.service.notify('sc-6', { type: 'message', title: 'u-snoozed' });
    const when = new Date(Date.now() + 1500);
    expect(await t.service.snooze('sc-6', [scoped.id], when, B)).toMatchObject({ changed: 0 });
    expect(await t.service.snooze('sc-6', [scoped.id, unscoped.id], when, A)).toMatchObject({ changed: 2, unread: 0 });
    expect(await titles('sc-6', B)).toEqual([]);
    await until('both snoozes come back', async () => (await titles('sc-6', A)).length === 2);
    const back = (await t.service.list('sc-6', { ...A })).items;
    expect(back.map((n) => [n.title, n.scope]).sort()).toEqual([
      ['a-snoozed', 'acme'],
      ['u-snoozed', null],
    ]);
    expect(back.every((n) => n.id !== scoped.id && n.id !== unscoped.id)).toBe(true);
    expect(await titles('sc-6', B)).toEqual(['u-snoozed']);
  });

  it('deduplicates per audience and scope', async () => {
    await fresh('sc-7');
    const once = (scope?: string) => t.service.notify('sc-7', { type: 'message', title: `d-${scope}`, dedupeKey: 'k', scope });
    expect(await once('acme')).toHaveLength(1);
    expect(await once('globex')).toHaveLength(1);
    expect(await once()).toHaveLength(1);
    expect(await once('acme')).toHaveLength(0);
    const broadcast = (scope?: string) => t.service.broadcast({ type: 'announcement', title: `b-${scope}`, dedupeKey: 'sc-7', scope });
    expect(await broadcast('acme')).not.toBeNull();
    expect(await broadcast()).not.toBeNull();
    expect(await broadcast('acme')).toBeNull();
    // broadcast(n, { scope }) is n.scope; both, the same.
    expect((await t.service.broadcast({ type: 'announcement', title: 'opt', dedupeKey: 'sc-7-opt' }, B))!.scope).toBe('globex');
    expect((await t.service.broadcast({ type: 'announcement', title: 'both', scope: 'globex' }, B))!.scope).toBe('globex');
    expect(await titles('sc-7', B)).toEqual(['both', 'opt', 'b-undefined', 'd-undefined', 'd-globex']);
  });

  it('prunes old shared rows per stream and scope, keeping every scope counted exactly', async () => {
    await fresh('sc-8');
    const q = (sql: string, params: unknown[] = []) => t.dataSource.query(sql, params);
    const old: string[] = [];
    for (let i = 0; i < 3; i++) old.push((await t.service.broadcast({ type: 't', title: `old a${i}`, scope: 'sc-8-a' }))!.id);
    const kept = (await t.service.broadcast({ type: 't', title: 'kept a', scope: 'sc-8-a' }))!.id;
    const otherScope = (await t.service.broadcast({ type: 't', title: 'kept b', scope: 'sc-8-b' }))!.id;
    await q(`UPDATE inbox_notification SET created_at = now() - interval '40 days' WHERE id = ANY($1::bigint[])`, [old]);
    const pruner = await startApp(db.url, { retention: { days: 30, intervalMs: 3_600_000, batchSize: 10_000 } }, { gateway: false });
    try {
      await pruner.app.get(Retention).prune();
    } finally {
      await pruner.close();
    }
    expect(await q(`SELECT count(*)::int AS n FROM inbox_notification WHERE id = ANY($1::bigint[])`, [old])).toEqual([{ n: 0 }]);
    expect((await t.service.list('sc-8', { scope: 'sc-8-a' })).items.map((n) => n.id)).toContain(kept);
    expect((await t.service.list('sc-8', { scope: 'sc-8-b' })).items.map((n) => n.id)).toContain(otherScope);
    const unscopedUnread = await t.service.unreadCount('sc-8');
    expect(await t.service.unreadCount('sc-8', { scope: 'sc-8-a' })).toBe(unscopedUnread + 1);
    expect(await t.service.unreadCount('sc-8', { scope: 'sc-8-b' })).toBe(unscopedUnread + 1);
  });

  describe('bad scopes', () => {
    const BAD: [unknown, string][] = [
      ['', 'empty'],
      ['x'.repeat(201), '201 characters'],
      [42, 'a number'],
      [['acme'], 'an array'],
      ['a\u0000b', 'a NUL'],
      ['\ud800', 'a lone surrogate'],
    ];
    const TABLES = ['inbox_notification', 'inbox_receipt', 'inbox_user_state', 'inbox_subscription', 'inbox_snooze', 'inbox_stream'];
    const snapshot = async () =>
      Object.fromEntries(
        await Promise.all(
          TABLES.map(async (table) => [table, (await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number]),
        ),
      );

    it.each(BAD)('refuses %j (%s) at every public method, naming the field and storing nothing', async (bad) => {
      const [target] = await t.service.notify('sc-bad', { type: 'message', title: 'target' });
      const before = await snapshot();
      const opts = { scope: bad } as ScopeOption;
      const input = { type: 'message', title: 'x', scope: bad } as never;
      const calls: [string, () => Promise<unknown>][] = [
        ['notification: scope', () => t.service.notify('sc-bad', input)],
        ['notification: scope', () => t.service.broadcast(input)],
        ['notification: scope', () => t.service.publish('sc-bad-news', input)],
        ['broadcast: scope', () => t.service.broadcast({ type: 'message' }, opts)],
        ['subscribe: scope', () => t.service.subscribe('sc-bad', 'sc-bad-news', opts)],
        ['unsubscribe: scope', () => t.service.unsubscribe('sc-bad', 'sc-bad-news', opts)],
        ['list: scope', () => t.service.list('sc-bad', { limit: 5, ...opts })],
        ['counts: scope', () => t.service.counts('sc-bad', { all: {} }, opts)],
        ['markSeen: scope', () => t.service.markSeen('sc-bad', [target.id], opts)],
        ['markRead: scope', () => t.service.markRead('sc-bad', [target.id], opts)],
        ['markRead: scope', () => t.service.markRead('sc-bad', {}, opts)],
        ['markAllRead: scope', () => t.service.markAllRead('sc-bad', opts)],
        ['archive: scope', () => t.service.archive('sc-bad', {}, opts)],
        ['unarchive: scope', () => t.service.unarchive('sc-bad', [target.id], opts)],
        ['remove: scope', () => t.service.remove('sc-bad', { state: 'all' }, opts)],
        ['snooze: scope', () => t.service.snooze('sc-bad', [target.id], new Date(Date.now() + 60_000), opts)],
        ['unreadCount: scope', () => t.service.unreadCount('sc-bad', opts)],
        ['badge: scope', () => t.service.badge('sc-bad', opts)],
        ['getPreferences: scope', () => t.service.getPreferences('sc-bad', opts)],
        ['setPreferences: scope', () => t.service.setPreferences('sc-bad', { muted: { types: ['message'] } }, opts)],
      ];
      for (const [field, call] of calls) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err, field).toBeInstanceOf(InvalidInputError);
        expect((err as Error).message, field).toMatch(new RegExp(`^${field}: must (be a string of 1 to 200 characters|not contain)`));
      }
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a broadcast whose option and notification name different scopes', async () => {
      const before = await snapshot();
      await expect(t.service.broadcast({ type: 'message', scope: 'acme' }, { scope: 'globex' })).rejects.toThrow(
        /^broadcast: scope: "globex" differs from notification.scope "acme"$/,
      );
      expect(await snapshot()).toEqual(before);
    });

    it('accepts any 1 to 200 characters Postgres can store, kept as given', async () => {
      for (const scope of ['x'.repeat(200), ' padded ', 'ünï 😀', 'a:b/c']) {
        const [n] = await t.service.notify('sc-odd', { type: 'message', title: scope, scope, tags: ['t'] });
        expect(n.scope).toBe(scope);
        expect((await t.service.list('sc-odd', { scope, filter: { tags: ['t'] } })).items.map((i) => i.id)).toEqual([n.id]);
      }
    });
  });

  it('upgrades an install in place: every existing row unscoped, what everyone sees unchanged, in every scope; and back down', async () => {
    const old = await createDatabase();
    const at = NOTIFICATIONS_MIGRATIONS.findIndex((m) => m.name === 'InboxScopes1764460800000');
    expect(at).toBeGreaterThan(0);
    const previous = new DataSource({ type: 'postgres', url: old.url, migrations: NOTIFICATIONS_MIGRATIONS.slice(0, at) });
    let app: TestApp | undefined;
    try {
      await previous.initialize();
      await previous.runMigrations();
      await previous.query(`SELECT inbox_notify(ARRAY['up-1', 'up-2'], '{"type": "message", "title": "direct", "tags": ["a"]}'::jsonb)`);
      await previous.query(`SELECT inbox_broadcast('{"type": "announcement", "title": "broadcast"}'::jsonb)`);
      await previous.query(`INSERT INTO inbox_subscription (user_id, topic) VALUES ('up-1', 'news')`);
      await previous.query(`SELECT inbox_publish('news', '{"type": "release", "title": "published", "tags": ["a"]}'::jsonb)`);
      await previous.query(`SELECT inbox_notify(ARRAY['up-1'], '{"type": "chat", "title": "muted"}'::jsonb)`);
      await previous.query(`INSERT INTO inbox_user_state (user_id, muted_types) VALUES ('up-1', '{chat}')`);
      await previous.query(`UPDATE inbox_notification SET read_at = now() WHERE user_id = 'up-2'`);
      await previous.destroy();

      await migrate(old.url);
      app = await startApp(old.url, {}, { gateway: false });
      const q = (sql: string) => app!.dataSource.query(sql);
      expect(await q(`SELECT count(*)::int AS n FROM inbox_notification WHERE scope <> ''`)).toEqual([{ n: 0 }]);
      expect(await q(`SELECT DISTINCT scope FROM inbox_subscription UNION SELECT DISTINCT scope FROM inbox_user_state`)).toEqual([
        { scope: '' },
      ]);
      for (const opts of [{}, A]) {
        const up1 = (await app.service.list('up-1', { ...opts })).items;
        expect(up1.map((n) => [n.title, n.scope])).toEqual([
          ['muted', null],
          ['published', null],
          ['broadcast', null],
          ['direct', null],
        ]);
        expect(await app.service.badge('up-1', opts)).toEqual(
          // The preferences stored before are the unscoped inbox's.
          'scope' in opts ? { unread: 4, unseen: 4 } : { unread: 3, unseen: 3 },
        );
        expect((await app.service.list('up-1', { ...opts, filter: { tags: ['a'] } })).items.map((n) => n.title)).toEqual([
          'published',
          'direct',
        ]);
        expect((await app.service.list('up-2', { ...opts })).items.map((n) => [n.title, n.readAt !== null])).toEqual([
          ['broadcast', false],
          ['direct', true],
        ]);
      }
      expect(await app.service.getPreferences('up-1')).toEqual({ channels: {}, quietHours: null, muted: { types: ['chat'], topics: [] } });
      // Old streams go on numbering where they were; new ones in scopes start their own.
      await app.service.broadcast({ type: 'announcement', title: 'after' });
      await app.service.broadcast({ type: 'announcement', title: 'scoped', scope: 'acme' });
      expect(await q(`SELECT title, seq FROM inbox_notification WHERE user_id IS NULL AND topic IS NULL ORDER BY id`)).toEqual([
        { title: 'broadcast', seq: '1' },
        { title: 'after', seq: '2' },
        { title: 'scoped', seq: '1' },
      ]);
      await app.service.markAllRead('up-2', A);
      expect(await app.service.badge('up-2')).toEqual({ unread: 0, unseen: 0 });
      await app.close();
      app = undefined;

      // Down: the scoped rows go (unscoped, they would reach everyone); the rest stays as it was.
      const down = new DataSource({ type: 'postgres', url: old.url, migrations: [...NOTIFICATIONS_MIGRATIONS] });
      await down.initialize();
      try {
        // The migrations after this one first, then this one.
        for (let i = at; i < NOTIFICATIONS_MIGRATIONS.length; i++) await down.undoLastMigration({ transaction: 'all' });
        expect((await down.query(`SELECT title FROM inbox_notification ORDER BY id`)).map((r: { title: string }) => r.title)).toEqual([
          'direct',
          'direct',
          'broadcast',
          'published',
          'muted',
          'after',
        ]);
        expect(await down.query(`SELECT user_id FROM inbox_user_state WHERE user_id = 'up-2'`)).toEqual([{ user_id: 'up-2' }]);
        await down.query(`SELECT inbox_broadcast('{"type": "announcement", "title": "down again", "tags": ["b"]}'::jsonb)`);
        await expect(down.query(`SELECT inbox_broadcast('{"type": "t", "scope": "acme"}'::jsonb)`)).rejects.toThrow(
          /notification\.scope: unknown field/,
        );
      } finally {
        await down.destroy();
      }
    } finally {
      await app?.close();
      if (previous.isInitialized) await previous.destroy();
      await old.drop();
    }
  });
});
