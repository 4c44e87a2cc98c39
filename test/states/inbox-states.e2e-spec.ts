import { ClientEvent, ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/**
 * Inbox states (seen, read, archived, deleted), views and their counts, bulk changes and
 * preferences, through the service and the socket, on every kind of notification (direct,
 * broadcast, topic).
 */
describe('inbox states', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };
  const titles = async (user: string, filter: object = {}) =>
    (await t.service.list(user, { filter, limit: 100 })).items.map((n) => n.title);
  const rows = async (table: string) => (await t.dataSource.query(`SELECT count(*)::int AS n FROM ${table}`))[0].n as number;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    // Snoozes of a second and a half, to see them come back (the default shortest is a minute).
    t = await startApp(db.url, { mutable: (type) => type !== 'system', canSubscribe: () => true, minSnoozeMs: 1000 });
  });
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  /** A user without the broadcasts of the tests before (every user sees every broadcast). */
  const fresh = (user: string) => t.service.remove(user, { state: 'all' });

  /** One direct, one broadcast and one publication for `user`, titled with `prefix`. */
  async function seed(user: string, prefix: string) {
    await fresh(user);
    await t.service.subscribe(user, `${prefix}-topic`);
    const [direct] = await t.service.notify(user, { type: 'message', title: `${prefix}-d`, tags: ['x'] });
    const broadcast = (await t.service.broadcast({ type: 'announcement', title: `${prefix}-b` }))!;
    const topic = (await t.service.publish(`${prefix}-topic`, { type: 'release', title: `${prefix}-t`, tags: ['x', 'y'] }))!;
    return { direct, broadcast, topic };
  }

  it('sets each state by id on direct, broadcast and topic notifications, per user', async () => {
    await t.service.subscribe('st-2', 'a-topic');
    const { direct, broadcast, topic } = await seed('st-1', 'a');
    expect(await t.service.badge('st-1')).toEqual({ unread: 3, unseen: 3 });

    expect(await t.service.markSeen('st-1', [direct.id, broadcast.id])).toEqual({ changed: 2, unread: 3, unseen: 1 });
    // Seen twice changes nothing; reading implies seeing.
    expect((await t.service.markSeen('st-1', [direct.id])).changed).toBe(0);
    expect(await t.service.markRead('st-1', [topic.id])).toMatchObject({ changed: 1, unread: 2, unseen: 0 });

    expect(await t.service.archive('st-1', [broadcast.id, topic.id])).toMatchObject({ changed: 2, unread: 1 });
    expect(await titles('st-1')).toEqual(['a-d']);
    expect(await titles('st-1', { state: 'archived' })).toEqual(['a-t', 'a-b']);
    expect(await titles('st-1', { state: 'all' })).toEqual(['a-t', 'a-b', 'a-d']);
    expect(await t.service.unarchive('st-1', [broadcast.id])).toMatchObject({ changed: 1, unread: 2 });
    expect(await titles('st-1')).toEqual(['a-b', 'a-d']);

    expect(await t.service.remove('st-1', [direct.id, broadcast.id, topic.id])).toMatchObject({ changed: 3, unread: 0, unseen: 0 });
    expect(await titles('st-1', { state: 'all' })).toEqual([]);
    // Deleted is final: no other change applies to it.
    expect((await t.service.archive('st-1', [direct.id])).changed).toBe(0);
    // The broadcast and the publication stay for everyone else.
    expect(await titles('st-2', { state: 'all' })).toEqual(expect.arrayContaining(['a-t', 'a-b']));
    expect((await t.service.list('st-2', { filter: { state: 'all' } })).items.find((n) => n.id === topic.id)).toMatchObject({
      seenAt: null,
      readAt: null,
      archived: false,
    });
  });

  it('lists and counts by filter: types, topic, state, tags, an id range', async () => {
    const { direct, topic } = await seed('st-3', 'c');
    await t.service.notify('st-3', { type: 'mention', title: 'c-m1' });
    await t.service.notify('st-3', { type: 'mention', title: 'c-m2', tags: ['x'] });
    expect(await titles('st-3', { type: 'mention' })).toEqual(['c-m2', 'c-m1']);
    expect(await titles('st-3', { type: ['mention', 'release'] })).toEqual(['c-m2', 'c-m1', 'c-t']);
    expect(await titles('st-3', { topic: 'c-topic' })).toEqual(['c-t']);
    expect(await titles('st-3', { tags: ['x'] })).toEqual(['c-m2', 'c-t', 'c-d']);
    expect(await titles('st-3', { tags: ['x', 'y'] })).toEqual(['c-t']);
    expect(await titles('st-3', { after: direct.id, before: topic.id })).toEqual(expect.arrayContaining(['c-b']));
    await t.service.markRead('st-3', [direct.id]);
    expect(await titles('st-3', { state: 'read' })).toEqual(['c-d']);
    expect(await titles('st-3', { state: 'unread', type: 'message' })).toEqual([]);

    expect(
      await t.service.counts('st-3', {
        all: {},
        unseen: { state: 'unseen' },
        mentions: { type: 'mention' },
        topic: { topic: 'c-topic' },
        tagged: { tags: ['x'] },
        archived: { state: 'archived' },
        everything: { state: 'all' },
      }),
    ).toEqual({ all: 4, unseen: 4, mentions: 2, topic: 1, tagged: 2, archived: 0, everything: 4 });
    await t.service.archive('st-3', { type: 'mention' });
    expect(await t.service.counts('st-3', { all: {}, archived: { state: 'archived' }, mentions: { type: 'mention' } })).toEqual({
      all: 2,
      archived: 2,
      mentions: 0,
    });
    // Read one by one (a receipt above the watermark), then all (the watermark): both in the read view.
    await t.service.markRead('st-3', [topic.id]);
    expect(await titles('st-3', { state: 'read' })).toEqual(['c-t', 'c-d']);
    await t.service.markAllRead('st-3');
    expect(await titles('st-3', { state: 'read' })).toEqual(['c-t', 'c-b', 'c-d']);
    expect(await titles('st-3', { state: 'read', topic: 'c-topic' })).toEqual(['c-t']);
  });

  it('changes everything by watermarks, without a row per notification, and not what commits after', async () => {
    await seed('st-4', 'e');
    for (let i = 0; i < 5; i++) await t.service.broadcast({ type: 'announcement', title: `e-b${i}` });
    const receipts = await rows('inbox_receipt');
    expect((await t.service.markSeen('st-4', {})).unseen).toBe(0);
    expect(await t.service.archive('st-4', {})).toMatchObject({ unread: 0 });
    expect(await rows('inbox_receipt')).toBe(receipts);
    expect(await titles('st-4')).toEqual([]);
    expect((await titles('st-4', { state: 'archived' })).length).toBeGreaterThanOrEqual(8);

    // What comes after is in the inbox, unseen.
    await t.service.notify('st-4', { type: 'message', title: 'e-after' });
    await t.service.publish('e-topic', { type: 'release', title: 'e-after-t' });
    expect(await titles('st-4')).toEqual(['e-after-t', 'e-after']);
    expect(await t.service.badge('st-4')).toEqual({ unread: 2, unseen: 2 });

    // One restored by id stays out of the archive until everything is archived again.
    const [oldest] = (await t.service.list('st-4', { filter: { state: 'archived', type: 'message' } })).items;
    await t.service.unarchive('st-4', [oldest.id]);
    expect(await titles('st-4')).toEqual(['e-after-t', 'e-after', 'e-d']);
    await t.service.archive('st-4', {});
    expect(await titles('st-4')).toEqual([]);

    // Deleting everything needs state 'all' (the inbox alone would leave the archive).
    await t.service.remove('st-4', { state: 'all' });
    expect(await rows('inbox_receipt')).toBe(receipts);
    expect(await titles('st-4', { state: 'all' })).toEqual([]);
    await t.service.broadcast({ type: 'announcement', title: 'e-later' });
    expect(await titles('st-4')).toEqual(['e-later']);
  });

  it('keeps what a transaction open across archive-all commits in the inbox', async () => {
    await fresh('st-5');
    await t.service.notify('st-5', { type: 'message', title: 'f-1' });
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    try {
      await t.service.notify('st-5', { type: 'message', title: 'f-late' }, { manager: runner.manager });
      await t.service.archive('st-5', {});
      await runner.commitTransaction();
    } finally {
      await runner.release();
    }
    expect(await titles('st-5')).toEqual(['f-late']);
    expect(await titles('st-5', { state: 'archived' })).toEqual(['f-1']);
  });

  it('applies a filtered bulk change to what the filter selects only', async () => {
    await fresh('st-6');
    for (let i = 0; i < 6; i++) await t.service.notify('st-6', { type: i % 2 ? 'mention' : 'message', title: `g-${i}` });
    const items = (await t.service.list('st-6')).items;
    await t.service.markRead(
      'st-6',
      items.slice(0, 3).map((n) => n.id),
    ); // g-5, g-4, g-3
    expect(await t.service.archive('st-6', { state: 'read', type: 'mention' })).toMatchObject({ changed: 2 }); // g-5, g-3
    expect(await titles('st-6')).toEqual(['g-4', 'g-2', 'g-1', 'g-0']);
    expect(await t.service.remove('st-6', { type: 'message', before: items[2].id })).toMatchObject({ changed: 2 }); // g-2, g-0
    expect(await titles('st-6')).toEqual(['g-4', 'g-1']);
    expect(await titles('st-6', { state: 'archived' })).toEqual(['g-5', 'g-3']);
  });

  it('keeps every tab in step: state changes, badges and watched counts', async () => {
    await fresh('st-7');
    const a = await connect('st-7');
    const b = await connect('st-7');
    const watched = await b.request(ClientEvent.Counts, { views: { all: {}, mentions: { type: 'mention' } } });
    expect(watched).toEqual({ counts: { all: 0, mentions: 0 } });

    let from = b.mark();
    const [m] = await t.service.notify('st-7', { type: 'mention', title: 'h-m' });
    expect(await b.waitFor(ServerEvent.Counts, (p: any) => p.counts.mentions === 1, { from })).toEqual({ counts: { all: 1, mentions: 1 } });

    from = b.mark();
    expect(await a.request(ClientEvent.Seen, { ids: [m.id] })).toEqual({ changed: 1, unread: 1, unseen: 0 });
    expect(await b.waitFor(ServerEvent.State, () => true, { from })).toEqual({ ids: [m.id], change: 'seen', scope: null });
    expect(await b.waitFor(ServerEvent.Unread, () => true, { from })).toEqual({ count: 1, unseen: 0 });

    from = b.mark();
    expect(await a.request(ClientEvent.Archive, { filter: { type: 'mention' } })).toMatchObject({ changed: 1, unread: 0 });
    expect(await b.waitFor(ServerEvent.State, () => true, { from })).toEqual({
      filter: { type: 'mention' },
      change: 'archived',
      scope: null,
    });
    expect(await b.waitFor(ServerEvent.Counts, () => true, { from })).toEqual({ counts: { all: 0, mentions: 0 } });

    from = b.mark();
    expect(await a.request(ClientEvent.Delete, { ids: [m.id] })).toMatchObject({ changed: 1 });
    expect(await b.waitFor(ServerEvent.State, () => true, { from })).toEqual({ ids: [m.id], change: 'deleted', scope: null });
    expect((await a.list({ filter: { state: 'all' } })).items).toEqual([]);
  });

  it('mutes types and topics: stored and listed, not delivered live, not counted', async () => {
    await t.service.subscribe('st-8', 'i-topic');
    await fresh('st-8');
    const c = await connect('st-8');
    expect(await c.request(ClientEvent.PreferencesSet, { muted: { types: ['promo'], topics: ['i-topic'] } })).toEqual({
      availableChannels: [],
      channels: {},
      quietHours: null,
      muted: { types: ['promo'], topics: ['i-topic'] },
    });
    expect(await c.request(ClientEvent.PreferencesSet, { muted: { types: ['system'] } })).toEqual({
      error: { code: 'FORBIDDEN', message: expect.stringContaining("'system' may not be muted") },
    });
    expect(await t.service.getPreferences('st-8')).toEqual({
      channels: {},
      quietHours: null,
      muted: { types: ['promo'], topics: ['i-topic'] },
    });

    const from = c.mark();
    await t.service.notify('st-8', { type: 'promo', title: 'i-promo' });
    await t.service.broadcast({ type: 'promo', title: 'i-promo-b' });
    await t.service.publish('i-topic', { type: 'release', title: 'i-t' });
    await t.service.notify('st-8', { type: 'message', title: 'i-msg' });
    // Sent after the muted ones: once it arrived, they would have too.
    await c.waitForTitle('i-msg', from);
    expect(
      c.log
        .slice(from)
        .filter((e) => e.event === ServerEvent.Notification)
        .map((e) => e.payload.title),
    ).toEqual(['i-msg']);
    expect(await t.service.badge('st-8')).toEqual({ unread: 1, unseen: 1 });
    expect(await titles('st-8')).toEqual(expect.arrayContaining(['i-msg', 'i-t', 'i-promo-b', 'i-promo']));

    await c.request(ClientEvent.PreferencesSet, { muted: { types: [], topics: [] } });
    const again = c.mark();
    await t.service.publish('i-topic', { type: 'release', title: 'i-t2' });
    await c.waitForTitle('i-t2', again);
    expect(await t.service.badge('st-8')).toEqual({ unread: 5, unseen: 5 });
  });

  it('snoozes: hidden until the time, then back as a new notification, delivered live', async () => {
    await t.service.subscribe('st-11', 'k-topic');
    await fresh('st-10');
    await fresh('st-11');
    const c = await connect('st-10');
    const [direct] = await t.service.notify('st-10', { type: 'reminder', title: 'k-d', url: '/tasks/1', tags: ['k'] });
    const shared = (await t.service.broadcast({ type: 'announcement', title: 'k-b' }))!;
    expect(await t.service.badge('st-10')).toEqual({ unread: 2, unseen: 2 });

    const from = c.mark();
    const until = new Date(Date.now() + 1500);
    expect(await c.request(ClientEvent.Snooze, { ids: [direct.id, shared.id], until: until.toISOString() })).toEqual({
      changed: 2,
      unread: 0,
      unseen: 0,
    });
    expect(await c.waitFor(ServerEvent.State, () => true, { from })).toEqual({
      ids: [direct.id, shared.id],
      change: 'snoozed',
      scope: null,
    });
    expect(await titles('st-10', { state: 'all' })).toEqual([]);
    expect(await titles('st-11')).toContain('k-b'); // the broadcast stays for everyone else

    const comesBack = (title: string, was: string) =>
      c.waitFor<any>(ServerEvent.Notification, (n) => n.title === title && n.id !== was, { from, timeoutMs: 5000 });
    const back = await comesBack('k-d', direct.id);
    await comesBack('k-b', shared.id);
    expect(Date.now()).toBeGreaterThanOrEqual(until.getTime());
    expect(back).toMatchObject({ type: 'reminder', url: '/tasks/1', tags: ['k'], readAt: null, seenAt: null, broadcast: false });
    expect(BigInt(back.id)).toBeGreaterThan(BigInt(shared.id));
    expect(await titles('st-10')).toEqual(expect.arrayContaining(['k-d', 'k-b']));
    expect(await t.service.badge('st-10')).toEqual({ unread: 2, unseen: 2 });

    expect((await c.request(ClientEvent.Snooze, { ids: [back.id], until: 'tomorrow' })).error.message).toMatch(
      /until: must be an ISO 8601 time/,
    );
    await expect(t.service.snooze('st-10', [back.id], new Date(Date.now() - 1000))).rejects.toThrow(/until: must be in the future/);
  });

  it('refuses bad input with INVALID_INPUT naming the field, and changes nothing', async () => {
    await fresh('st-9');
    const [n] = await t.service.notify('st-9', { type: 'message', title: 'j' });
    const c = await connect('st-9');
    const bad: [string, unknown, RegExp][] = [
      [ClientEvent.Archive, { filter: { state: 'gone' } }, /filter\.state: must be one of/],
      [ClientEvent.Archive, { filter: 'all' }, /must be an object/],
      [ClientEvent.Delete, {}, /must be \{ ids/],
      [ClientEvent.Seen, { ids: ['x1'] }, /not a notification id/],
      [ClientEvent.Counts, { views: { r: { state: 'read' } } }, /r\.state: a count counts unread/],
      [ClientEvent.Counts, { views: [] }, /views: must be an object/],
      // JSON.parse, as the server's parser does: an own `__proto__` key, which a count must not silently leave out.
      [ClientEvent.Counts, JSON.parse('{ "views": { "__proto__": {}, "all": {} } }'), /views\.__proto__: is not a view name/],
      [ClientEvent.List, { filter: { tags: Array(11).fill('t') } }, /tags: .*11|too big|at most/i],
      [ClientEvent.PreferencesSet, { muted: ['promo'] }, /muted: must be an object/],
    ];
    for (const [event, payload, message] of bad) {
      const answer = await c.request(event, payload);
      expect(answer.error?.code, `${event} ${JSON.stringify(payload)}`).toBe('INVALID_INPUT');
      expect(answer.error.message).toMatch(message);
    }
    await expect(t.service.archive('st-9', { state: 'gone' } as never)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect((await t.service.list('st-9')).items).toEqual([expect.objectContaining({ id: n.id, seenAt: null, archived: false })]);
  });
});
