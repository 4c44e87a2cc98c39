import { ClientEvent, type NotificationPayload, ServerEvent } from 'nestjs-inbox';
import { startApp, migrate, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

describe('delivery and read state', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string, opts = {}) => {
    const c = await TestClient.connect(t.url, user, opts);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { canSubscribe: (_user, topic) => !topic.startsWith('private:') });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('delivers a notification live to every tab of its recipient, with the stored fields', async () => {
    const [tab1, tab2] = [await connect('live-1'), await connect('live-1')];
    const [stored] = await t.service.notify('live-1', { type: 'message', title: 'hello', body: 'b', data: { x: 1 } });
    for (const tab of [tab1, tab2]) {
      const got = await tab.waitForTitle('hello');
      expect(got).toEqual<NotificationPayload>({
        id: stored.id,
        type: 'message',
        title: 'hello',
        body: 'b',
        data: { x: 1 },
        topic: null,
        scope: null,
        broadcast: false,
        createdAt: stored.createdAt,
        seenAt: null,
        readAt: null,
        archived: false,
        url: null,
        actions: [],
        actor: null,
        tags: [],
        group: null,
        replaces: null,
      });
      await tab.waitFor(ServerEvent.Unread, (p) => p.count === 1);
    }
  });

  it('sends a user who was offline at notify time what they missed, in id order, then synced', async () => {
    await t.service.notify('offline-1', { type: 'reminder', title: 'one' });
    await t.service.notify(['offline-1', 'someone-else'], { type: 'reminder', title: 'two' });
    const c = await connect('offline-1');
    const events = c.log.filter((e) => e.event !== 'notifications:unread');
    expect(events.map((e) => e.event)).toEqual(['notification', 'notification', 'notifications:synced']);
    expect(c.notifications.map((n) => n.title)).toEqual(['one', 'two']);
    expect(events[2].payload).toMatchObject({ unread: 2, unseen: 2, truncated: false });
  });

  it('resumes from a cursor: only what is newer, read or not', async () => {
    const [a] = await t.service.notify('cursor-1', { type: 't', title: 'a' });
    const [b] = await t.service.notify('cursor-1', { type: 't', title: 'b' });
    await t.service.markRead('cursor-1', [a.id, b.id]);
    await t.service.notify('cursor-1', { type: 't', title: 'c' });
    const c = await connect('cursor-1', { cursor: a.id });
    expect(c.notifications.map((n) => n.title)).toEqual(['b', 'c']);
    expect(c.notifications[0].readAt).not.toBeNull();
  });

  it('never delivers a notification stored in a transaction that rolls back; delivers after commit', async () => {
    const c = await connect('tx-1');
    await expect(
      t.dataSource.transaction(async (manager) => {
        await t.service.notify('tx-1', { type: 't', title: 'rolled back' }, { manager });
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    const from = c.mark();
    await t.dataSource.transaction(async (manager) => {
      await t.service.notify('tx-1', { type: 't', title: 'committed' }, { manager });
      // Inside the transaction nothing is delivered yet; a savepoint that rolls back drops its own.
      await manager
        .transaction(async (inner) => {
          await t.service.notify('tx-1', { type: 't', title: 'inner rolled back' }, { manager: inner });
          throw new Error('inner');
        })
        .catch(() => undefined);
      expect(c.log.slice(from).filter((e) => e.event === ServerEvent.Notification)).toEqual([]);
    });
    await c.waitForTitle('committed', from);
    // A later notification is a barrier: anything emitted for the rolled-back rows came before it.
    await t.service.notify('tx-1', { type: 't', title: 'barrier' });
    await c.waitForTitle('barrier');
    expect(c.notifications.map((n) => n.title)).toEqual(['committed', 'barrier']);
    const page = await t.service.list('tx-1');
    expect(page.items.map((n) => n.title)).toEqual(['barrier', 'committed']);
  });

  it('never delivers what a COMMIT did not store: a failed transaction that Postgres rolls back on COMMIT', async () => {
    const c = await connect('tx-2');
    // A statement fails and the caller catches it without a savepoint: Postgres then answers
    // COMMIT by rolling back, with no error, and TypeORM reports a commit.
    await t.dataSource.transaction(async (manager) => {
      await t.service.notify('tx-2', { type: 't', title: 'never committed' }, { manager });
      await manager.query('SELECT 1 / 0').catch(() => undefined);
    });
    await t.service.notify('tx-2', { type: 't', title: 'barrier' });
    await c.waitForTitle('barrier');
    expect(c.notifications.map((n) => n.title)).toEqual(['barrier']);
    expect((await t.service.list('tx-2')).items.map((n) => n.title)).toEqual(['barrier']);
  });

  it('publishes to subscribers of a topic only; the host decides who may subscribe', async () => {
    const [sub, other] = [await connect('topic-sub'), await connect('topic-other')];
    expect(await sub.request(ClientEvent.Subscribe, { topic: 'release-notes' })).toEqual({ ok: true });
    expect(await other.request(ClientEvent.Subscribe, { topic: 'private:payroll' })).toEqual({
      error: { code: 'FORBIDDEN', message: "not allowed to subscribe to topic 'private:payroll'" },
    });
    await t.service.publish('release-notes', { type: 'publish', title: 'v2 is out' });
    const got = await sub.waitForTitle('v2 is out');
    expect(got.topic).toBe('release-notes');
    await t.service.notify('topic-other', { type: 't', title: 'barrier' });
    await other.waitForTitle('barrier');
    expect(other.notifications.map((n) => n.title)).toEqual(['barrier']);

    // A tab opened later joins its topics and lists them; unsubscribing removes them.
    const tab2 = await connect('topic-sub');
    expect((await tab2.list()).items.map((n) => n.title)).toEqual(['v2 is out']);
    await t.service.unsubscribe('topic-sub', 'release-notes');
    await t.service.publish('release-notes', { type: 'publish', title: 'v3' });
    await t.service.notify('topic-sub', { type: 't', title: 'after-unsubscribe' });
    await tab2.waitForTitle('after-unsubscribe');
    expect(tab2.notifications.map((n) => n.title)).not.toContain('v3');
    expect((await t.service.list('topic-sub')).items.map((n) => n.title)).toEqual(['after-unsubscribe']);
  });

  it('counts a publication as the subscriber’s when its transaction began before they subscribed', async () => {
    const c = await connect('topic-late');
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction(); // its now(), the row's created_at, predates the subscription
    await t.service.subscribe('topic-late', 'deploys');
    await t.service.publish('deploys', { type: 'publish', title: 'deploy 42' }, { manager: runner.manager });
    await runner.commitTransaction();
    await runner.release();
    const live = await c.waitForTitle('deploy 42');
    expect((await t.service.list('topic-late')).items.map((n) => n.id)).toEqual([live.id]);
    expect(await t.service.unreadCount('topic-late')).toBe(1);
    expect((await t.service.markRead('topic-late', [live.id])).ids).toEqual([live.id]);
  });

  it('marking read in one tab updates the count and read state of the other tab', async () => {
    const [tab1, tab2] = [await connect('tabs-1'), await connect('tabs-1')];
    const [a] = await t.service.notify('tabs-1', { type: 't', title: 'a' });
    await t.service.notify('tabs-1', { type: 't', title: 'b' });
    await tab2.waitFor(ServerEvent.Unread, (p) => p.count === 2);
    const from = tab2.mark();
    expect(await tab1.request(ClientEvent.Read, { ids: [a.id] })).toEqual({ changed: 1, unread: 1, unseen: 1 });
    expect(await tab2.waitFor(ServerEvent.Read, undefined, { from })).toEqual({ ids: [a.id], scope: null });
    await tab2.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from });
    const from2 = tab2.mark();
    expect(await tab1.request(ClientEvent.ReadAll, {})).toMatchObject({ unread: 0, unseen: 0 });
    expect(await tab2.waitFor(ServerEvent.Read, undefined, { from: from2 })).toEqual({ all: true, scope: null });
    await tab2.waitFor(ServerEvent.Unread, (p) => p.count === 0, { from: from2 });
  });

  it('stores and delivers nothing new for a repeated dedupeKey of the same user', async () => {
    const c = await connect('dedupe-1');
    const first = await t.service.notify(['dedupe-1', 'dedupe-2'], { type: 't', title: 'once', dedupeKey: 'order-42' });
    expect(first).toHaveLength(2);
    const again = await t.service.notify('dedupe-1', { type: 't', title: 'twice', dedupeKey: 'order-42' });
    expect(again).toEqual([]);
    await t.service.notify('dedupe-1', { type: 't', title: 'barrier' });
    await c.waitForTitle('barrier');
    expect(c.notifications.map((n) => n.title)).toEqual(['once', 'barrier']);
  });

  it('paginates newest first with a cursor, with unread and type filters', async () => {
    for (let i = 1; i <= 7; i++) {
      await t.service.notify('pages-1', { type: i % 2 ? 'odd' : 'even', title: `n${i}` });
    }
    const titles = (p: { items: NotificationPayload[] }) => p.items.map((n) => n.title);
    const p1 = await t.service.list('pages-1', { limit: 3 });
    expect(titles(p1)).toEqual(['n7', 'n6', 'n5']);
    const p2 = await t.service.list('pages-1', { limit: 3, before: p1.nextCursor! });
    expect(titles(p2)).toEqual(['n4', 'n3', 'n2']);
    const p3 = await t.service.list('pages-1', { limit: 3, before: p2.nextCursor! });
    expect(titles(p3)).toEqual(['n1']);
    expect(p3.nextCursor).toBeNull();
    await t.service.markRead('pages-1', [p1.items[0].id]);
    const c = await connect('pages-1');
    expect(titles(await c.list({ unreadOnly: true, limit: 2 }))).toEqual(['n6', 'n5']);
    expect(titles(await t.service.list('pages-1', { type: 'even' }))).toEqual(['n6', 'n4', 'n2']);
  });

  it('neither lists, counts nor delivers expired notifications', async () => {
    await t.service.notify('exp-1', { type: 't', title: 'short-lived', expiresAt: new Date(Date.now() + 300) });
    await t.service.notify('exp-1', { type: 't', title: 'kept' });
    await t.dataSource.query(`UPDATE inbox_notification SET expires_at = now() - interval '1 second' WHERE title = 'short-lived'`);
    const c = await connect('exp-1');
    expect(c.notifications.map((n) => n.title)).toEqual(['kept']);
    expect(await t.service.unreadCount('exp-1')).toBe(1);
    expect((await c.list()).items.map((n) => n.title)).toEqual(['kept']);
  });

  it('reports presence and disconnects every socket of a user', async () => {
    expect(await t.service.isOnline('presence-1')).toBe(false);
    const [a, b] = [await connect('presence-1'), await connect('presence-1')];
    expect(await t.service.isOnline('presence-1')).toBe(true);
    await t.service.disconnectUser('presence-1');
    await a.waitFor('disconnect');
    await b.waitFor('disconnect');
    expect(await t.service.isOnline('presence-1')).toBe(false);
  });

  it('coalesces concurrent notify calls and still returns each caller its own rows', async () => {
    const c = await connect('burst-0');
    const calls = Array.from({ length: 200 }, (_, i) =>
      t.service.notify([`burst-${i % 10}`], { type: 't', title: `m${i}`, dedupeKey: i % 50 === 0 ? 'dup' : null }),
    );
    const results = await Promise.all(calls);
    results.forEach((stored, i) => stored.forEach((n) => expect(n.title).toBe(`m${i}`)));
    const burst0 = results.filter((_, i) => i % 10 === 0).flat();
    // Every one, not the last call's: two statements are in flight, and either may settle (and
    // be emitted) first, e.g. the later one when it took the dedupe key's row and the other waited on it.
    for (const { id } of burst0) await c.waitFor(ServerEvent.Notification, (n: NotificationPayload) => n.id === id);
    expect(new Set(c.notifications.map((n) => n.id))).toEqual(new Set(burst0.map((n) => n.id)));
    // Calls 0, 50, 100 and 150 share user burst-0 and dedupe key 'dup': exactly one stores it
    // (which one depends on which concurrent statement inserts first).
    expect([0, 50, 100, 150].map((i) => results[i].length).sort()).toEqual([0, 0, 0, 1]);
    // Each returned id is the row stored with that call's title, with the stored created_at.
    const returned = results.flat();
    const stored: { id: string; title: string; created_ms: number }[] = await t.dataSource.query(
      `SELECT id::text, title, floor(extract(epoch FROM created_at) * 1000)::float8 AS created_ms FROM inbox_notification WHERE id = ANY($1::bigint[])`,
      [returned.map((n) => n.id)],
    );
    const byId = new Map(stored.map((r) => [r.id, r]));
    expect(returned.map((n) => [byId.get(n.id)?.title, Date.parse(n.createdAt)])).toEqual(
      returned.map((n) => [n.title, byId.get(n.id)?.created_ms]),
    );
  });
});
