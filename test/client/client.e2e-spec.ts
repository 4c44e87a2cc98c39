import { ServerEvent } from 'nestjs-inbox';
import { compareIds, InboxClient, InboxError, type InboxOptions } from 'nestjs-inbox/client';
import type { Socket } from 'socket.io-client';
import { migrate, ORIGIN, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** The browser client, run in Node against a real server; the `uid` cookie names the user. */
function inbox(t: TestApp, userId: string | null, options: InboxOptions = {}): InboxClient {
  const extraHeaders: Record<string, string> = { origin: ORIGIN };
  if (userId) extraHeaders.cookie = `uid=${userId}`;
  return new InboxClient({
    url: t.url,
    ...options,
    socket: { transports: ['websocket'], forceNew: true, extraHeaders, reconnectionDelay: 50, reconnectionDelayMax: 200 },
  });
}

/** Resolves once `check` holds, re-checked on every client event; fails after `timeoutMs`. */
function until(client: InboxClient, check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  if (check()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const offs = (['change', 'unread', 'unseen', 'counts', 'state', 'notification'] as const).map((e) => client.on(e, wake));
    const timer = setTimeout(() => finish(new Error(`timed out waiting for ${what}`)), timeoutMs);
    function wake() {
      if (check()) finish();
    }
    function finish(err?: Error) {
      clearTimeout(timer);
      offs.forEach((off) => off());
      if (err) reject(err);
      else resolve();
    }
  });
}

const ids = (c: InboxClient) => c.notifications.map((n) => n.id);
const sortedDesc = (list: string[]) => [...list].sort((a, b) => (BigInt(b) > BigInt(a) ? 1 : -1));
/** The test's only look inside the client: its socket, to cut the transport and see the wire. */
const socketOf = (c: InboxClient) => (c as unknown as { connection: { socket: Socket } }).connection.socket;

describe('browser client (nestjs-inbox/client)', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const open: InboxClient[] = [];
  const client = (userId: string | null, options?: InboxOptions) => {
    const c = inbox(t, userId, options);
    open.push(c);
    return c;
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, {
      catchUpLimit: 5,
      canSubscribe: (_u: string, topic: string) => topic !== 'secret',
      mutable: (type: string) => type !== 'system',
      // Snoozes of a second and a half, to see them come back (the default shortest is a minute).
      minSnoozeMs: 1000,
      canAccessScope: (_u: string, scope: string) => scope !== 'forbidden',
    });
  });
  afterEach(() => open.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('connects, loads the first page including read ones, and receives live notifications in order', async () => {
    const [old] = await t.service.notify('c-live', { type: 't', title: 'old' });
    await t.service.markRead('c-live', [old.id]);
    const [unread] = await t.service.notify('c-live', { type: 't', title: 'unread' });
    const c = client('c-live');
    const states: string[] = [];
    c.on('state', (s) => states.push(s));
    await until(c, () => c.state === 'connected' && c.notifications.length === 2, 'sync and first page');
    expect(ids(c)).toEqual([unread.id, old.id]);
    expect(c.unread).toBe(1);

    const pushed: string[] = [];
    c.on(ServerEvent.Notification, (n) => pushed.push(n.title!));
    const [live] = await t.service.notify('c-live', { type: 't', title: 'live' });
    await until(c, () => c.unread === 2 && ids(c)[0] === live.id, 'the live notification');
    expect(pushed).toEqual(['live']);
    expect(states).toEqual(['connected']);
  });

  it('takes the badge from a new notification itself (auth.inlineBadge): no notifications:unread on the wire for it', async () => {
    const c = client('c-inline');
    await until(c, () => c.state === 'connected', 'connected');
    const wire: string[] = [];
    socketOf(c).onAny((event: string) => wire.push(event));
    const unreadSeen: number[] = [];
    c.on('unread', (n) => unreadSeen.push(n));
    // A client of the first protocol for another user, in the same call: the recount a badge
    // would need runs for both at once, so once its count came, a count for c would have too.
    const control = await TestClient.connect(t.url, 'c-inline-control');
    try {
      await t.service.notify(['c-inline', 'c-inline-control'], { type: 't', title: 'counted' });
      await until(c, () => c.unread === 1 && c.notifications[0]?.title === 'counted', 'the notification and its badge');
      await control.waitFor(ServerEvent.Unread, (p) => p.count === 1);
      await c.list({});
      expect(unreadSeen).toEqual([1]);
      expect(wire).not.toContain(ServerEvent.Unread);
      expect(c.unseen).toBe(1);
    } finally {
      control.close();
    }
  });

  it('resumes after a dropped connection without gaps or duplicates, late commits included', async () => {
    const c = client('c-drop');
    const pushed: string[] = [];
    c.on(ServerEvent.Notification, (n) => pushed.push(n.id));
    await until(c, () => c.state === 'connected', 'connected');
    const [a] = await t.service.notify('c-drop', { type: 't', title: 'a' });
    await until(c, () => ids(c).includes(a.id), 'a');

    // Takes an id now, commits only while the client is away: older than what it will hold.
    const runner = t.dataSource.createQueryRunner();
    await runner.startTransaction();
    const [late] = await t.service.notify('c-drop', { type: 't', title: 'late' }, { manager: runner.manager });

    socketOf(c).io.engine.close(); // as a network drop does
    await until(c, () => c.state === 'connecting', 'the drop');
    const wire: string[] = [];
    socketOf(c).on(ServerEvent.Notification, (n) => wire.push(n.id));
    const missed = await t.service.notify('c-drop', { type: 't', title: 'missed' });
    const [b] = await t.service.notify('c-drop', { type: 't', title: 'b' });
    await runner.commitTransaction();
    await runner.release();

    const all = [a.id, late.id, missed[0].id, b.id];
    await until(c, () => c.state === 'connected' && all.every((id) => ids(c).includes(id)), 'the catch-up');
    expect(ids(c)).toEqual(sortedDesc(all));
    expect(pushed.sort()).toEqual([...all].sort()); // each once
    expect(wire.sort()).toEqual([late.id, missed[0].id, b.id].sort()); // the reconnect sent the cursor
    expect(c.unread).toBe(4);
  });

  it('holds one item per group: replaced in place live, and after a gap by an item that replaces one it never saw', async () => {
    const c = client('c-group');
    await until(c, () => c.state === 'connected', 'connected');
    const comment = (title: string) => t.service.notify('c-group', { type: 'comment', title, group: 'post:1' });
    const [a] = await comment('a');
    await until(c, () => ids(c).includes(a.id), 'a');
    const [b] = await comment('b');
    await until(c, () => ids(c).includes(b.id), 'b');
    expect(ids(c)).toEqual([b.id]);

    socketOf(c).io.engine.close(); // as a network drop does
    await until(c, () => c.state === 'connecting', 'the drop');
    const [x] = await comment('x');
    const [y] = await comment('y');
    await until(c, () => c.state === 'connected' && ids(c).includes(y.id), 'the catch-up');
    // y replaces x, which this client never held; b goes by the rule of one unread item per group.
    expect(y.replaces).toBe(x.id);
    expect(ids(c)).toEqual([y.id]);
    expect(c.notifications[0].group).toEqual({ key: 'post:1', count: 4, actors: [] });
    await until(c, () => c.unread === 1, 'the badge');
  });

  it('keeps the cursor across page loads: a new client is told only what is new', async () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const first = client('c-persist', { persistCursor: { userId: 'c-persist', storage } });
    const [seen] = await t.service.notify('c-persist', { type: 't', title: 'seen' });
    await until(first, () => ids(first).includes(seen.id), 'seen');
    first.close();
    expect([...store.values()]).toEqual([seen.id]);

    const [fresh] = await t.service.notify('c-persist', { type: 't', title: 'fresh' });
    const second = client('c-persist', { persistCursor: { userId: 'c-persist', storage } });
    const pushed: string[] = [];
    second.on(ServerEvent.Notification, (n) => pushed.push(n.id));
    await until(second, () => second.state === 'connected' && second.notifications.length === 2, 'sync and page');
    expect(pushed).toEqual([fresh.id]);
    expect(ids(second)).toEqual([fresh.id, seen.id]);
    expect(store.get('nestjs-inbox:cursor:/notifications:c-persist')).toBe(fresh.id);
  });

  it('pages older notifications with loadMore until there are no more', async () => {
    const made: string[] = [];
    for (let i = 0; i < 5; i++) made.push((await t.service.notify('c-page', { type: 't', title: `p${i}` }))[0].id);
    const c = client('c-page', { pageSize: 2 });
    await until(c, () => c.state === 'connected' && c.notifications.length >= 2, 'first page');
    while (await c.loadMore());
    expect(c.hasMore).toBe(false);
    expect(ids(c)).toEqual(sortedDesc(made));
    expect(await c.loadMore()).toBe(false);
  });

  it('after a truncated catch-up drops what lies behind the gap and pages from the newest', async () => {
    const c = client('c-gap', { pageSize: 3 });
    await until(c, () => c.state === 'connected', 'connected');
    const [before] = await t.service.notify('c-gap', { type: 't', title: 'before' });
    await until(c, () => ids(c).includes(before.id), 'before');
    c.close();
    const made: string[] = [];
    for (let i = 0; i < 8; i++) made.push((await t.service.notify('c-gap', { type: 't', title: `g${i}` }))[0].id);
    c.connect(); // catchUpLimit is 5: the server says truncated
    await until(c, () => c.state === 'connected' && ids(c).includes(made[7]) && !ids(c).includes(before.id), 'the gap');
    while (await c.loadMore());
    expect(ids(c)).toEqual(sortedDesc([before.id, ...made]));
  });

  it('keeps tabs in step: read in one, read in the other', async () => {
    const one = client('c-read');
    const two = client('c-read');
    const [x] = await t.service.notify('c-read', { type: 't', title: 'x' });
    const [y] = await t.service.notify('c-read', { type: 't', title: 'y' });
    await until(two, () => ids(two).includes(y.id) && two.unread === 2, 'two has both');
    await until(one, () => ids(one).includes(y.id), 'one has both');

    expect(await one.markRead(x.id)).toBe(1);
    await until(two, () => two.unread === 1 && !!two.notifications.find((n) => n.id === x.id)?.readAt, 'x read in two');
    expect(await two.markAllRead()).toBe(0);
    await until(one, () => one.unread === 0 && one.notifications.every((n) => n.readAt), 'all read in one');
  });

  it('shows what was read elsewhere while it was away', async () => {
    const c = client('c-away');
    const [x] = await t.service.notify('c-away', { type: 't', title: 'x' });
    await until(c, () => c.state === 'connected' && ids(c).includes(x.id) && !c.hasMore, 'x and the first page');
    c.close();
    await t.service.markRead('c-away', [x.id]);
    c.connect();
    await until(c, () => c.unread === 0 && !!c.notifications[0].readAt, 'x read');
  });

  it('subscribes to topics, and rejects failed acks with an InboxError carrying the code', async () => {
    const c = client('c-topic');
    await c.subscribe('news');
    await t.service.publish('news', { type: 't', title: 'on news' });
    await until(c, () => c.notifications.some((n) => n.title === 'on news'), 'topic notification');
    await c.unsubscribe('news');

    await expect(c.subscribe('secret')).rejects.toMatchObject({ name: 'InboxError', code: 'FORBIDDEN' });
    const err = await c.markRead('not-an-id').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InboxError);
    expect((err as InboxError).code).toBe('INVALID_INPUT');
  });

  it('shows one view at a time: list(filter) and loadMore page it, live ones join the view they fit', async () => {
    const a: string[] = [];
    const b: string[] = [];
    for (let i = 0; i < 3; i++) {
      a.push((await t.service.notify('c-view', { type: 'a', title: `a${i}` }))[0].id);
      b.push((await t.service.notify('c-view', { type: 'b', title: `b${i}` }))[0].id);
    }
    const c = client('c-view', { pageSize: 2 });
    const pushed: string[] = [];
    c.on(ServerEvent.Notification, (n) => pushed.push(n.id));
    await until(c, () => c.state === 'connected' && c.notifications.length >= 2, 'the inbox');

    expect(await c.list({ type: 'a' })).toBe(true);
    expect(ids(c)).toEqual(sortedDesc(a).slice(0, 2));
    expect(c.view).toEqual({ type: 'a' });
    while (await c.loadMore());
    expect(ids(c)).toEqual(sortedDesc(a));

    // Reported whatever the view; held only by the view it fits.
    const [liveB] = await t.service.notify('c-view', { type: 'b', title: 'live b' });
    const [liveA] = await t.service.notify('c-view', { type: 'a', title: 'live a' });
    await until(c, () => ids(c)[0] === liveA.id, 'live a in the view');
    expect(ids(c)).not.toContain(liveB.id);
    expect(pushed.slice(-2)).toEqual([liveB.id, liveA.id]);

    // A reconnect does not report again what it received outside the view.
    const before = pushed.length;
    socketOf(c).io.engine.close();
    await until(c, () => c.state === 'connecting', 'the drop');
    await until(c, () => c.state === 'connected', 'back');
    const [next] = await t.service.notify('c-view', { type: 'b', title: 'after' });
    await until(c, () => pushed.includes(next.id), 'the next one');
    expect(pushed.slice(before)).toEqual([next.id]);

    await c.list();
    expect(c.view).toEqual({});
    expect(ids(c)).toEqual(sortedDesc([...a, ...b, liveA.id, liveB.id, next.id]).slice(0, 2));
  });

  it('marks seen, archives, unarchives and removes, by ids and by filter, in step across tabs', async () => {
    const one = client('c-state');
    const two = client('c-state');
    const made: string[] = [];
    for (const title of ['x', 'y', 'z']) made.push((await t.service.notify('c-state', { type: 't', title }))[0].id);
    const [x, y, z] = made;
    for (const c of [one, two]) await until(c, () => c.notifications.length === 3 && c.unseen === 3, 'three unseen');

    expect(await one.markSeen({ state: 'unseen' })).toEqual({ changed: 3, unread: 3, unseen: 0 });
    await until(two, () => two.unseen === 0 && two.notifications.every((n) => n.seenAt && !n.readAt), 'seen in two');

    await one.archive(x);
    expect(ids(one)).toEqual([z, y]);
    await until(two, () => !ids(two).includes(x), 'x out of two');
    await two.list({ state: 'archived' });
    expect(ids(two)).toEqual([x]);
    expect(two.notifications[0].archived).toBe(true);

    // Back from the archive: out of two's archived view, into one's inbox (which did not hold it).
    await one.unarchive([x]);
    await until(two, () => two.notifications.length === 0, 'x out of the archive');
    await until(one, () => ids(one).join() === [z, y, x].join(), 'x back in one');

    // By filter: every read one archived, then the archive emptied.
    await one.markRead(y);
    expect((await one.archive({ state: 'read' })).changed).toBe(1);
    await until(two, () => ids(two).join() === y, 'y in the archive of two');
    expect((await two.remove({ state: 'archived' })).changed).toBe(1);
    await until(two, () => two.notifications.length === 0, 'archive empty');
    await two.list({ state: 'all' });
    expect(ids(two)).toEqual([z, x]);
    await one.remove(z);
    await until(two, () => ids(two).join() === x, 'z deleted in two');
    expect(one.unread).toBe(1);
  });

  it('snoozes: gone from every tab, then back as a new notification', async () => {
    const one = client('c-snooze');
    const two = client('c-snooze');
    const [x] = await t.service.notify('c-snooze', { type: 't', title: 'later' });
    for (const c of [one, two]) await until(c, () => ids(c).includes(x.id), 'x');
    const back: string[] = [];
    two.on(ServerEvent.Notification, (n) => n.title === 'later' && back.push(n.id));

    expect((await one.snooze(x.id, new Date(Date.now() + 1500))).changed).toBe(1);
    expect(ids(one)).not.toContain(x.id);
    await until(two, () => !ids(two).includes(x.id), 'x gone from two');
    await until(two, () => back.length === 1, 'x back', 8000);
    expect(compareIds(back[0], x.id)).toBeGreaterThan(0);
    await until(one, () => ids(one)[0] === back[0], 'back in one too');
    expect(one.notifications[0]).toMatchObject({ title: 'later', readAt: null, seenAt: null });
  });

  it('watches view counts: pushed when they change, watched again after a reconnect', async () => {
    const c = client('c-counts');
    await until(c, () => c.state === 'connected', 'connected');
    const views = { all: {}, a: { type: 'a' }, archived: { state: 'archived' as const } };
    expect(await c.watchCounts(views)).toEqual({ all: 0, a: 0, archived: 0 });
    const [one] = await t.service.notify('c-counts', { type: 'a', title: 'one' });
    await until(c, () => c.counts.all === 1 && c.counts.a === 1, 'counted');
    await c.archive(one.id);
    await until(c, () => c.counts.all === 0 && c.counts.a === 0 && c.counts.archived === 1, 'moved to archived');

    socketOf(c).io.engine.close();
    await until(c, () => c.state === 'connecting', 'the drop');
    await until(c, () => c.state === 'connected', 'back');
    await t.service.notify('c-counts', { type: 'b', title: 'two' });
    await until(c, () => c.counts.all === 1, 'counted after the reconnect');
    expect(c.counts).toEqual({ all: 1, a: 0, archived: 1 });

    expect(await c.watchCounts({ b: { type: 'b' } })).toEqual({ b: 1 });
    expect(c.counts).toEqual({ b: 1 });
  });

  it('mutes types: not pushed, still listed; the host decides what may be muted', async () => {
    const c = client('c-mute');
    await until(c, () => c.state === 'connected', 'connected');
    // `availableChannels`: the server has none configured.
    expect(await c.getPreferences()).toEqual({ channels: {}, quietHours: null, muted: { types: [], topics: [] }, availableChannels: [] });
    expect(await c.setPreferences({ muted: { types: ['quiet'] } })).toEqual({
      availableChannels: [],
      channels: {},
      quietHours: null,
      muted: { types: ['quiet'], topics: [] },
    });
    await expect(c.setPreferences({ muted: { types: ['system'] } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await c.getPreferences()).muted.types).toEqual(['quiet']);

    const pushed: string[] = [];
    c.on(ServerEvent.Notification, (n) => pushed.push(n.title!));
    const [quiet] = await t.service.notify('c-mute', { type: 'quiet', title: 'quiet' });
    await t.service.notify('c-mute', { type: 'loud', title: 'loud' });
    await until(c, () => pushed.includes('loud') && c.unread === 1, 'the loud one, counted');
    expect(pushed).toEqual(['loud']);
    await c.list({ type: 'quiet' });
    expect(ids(c)).toEqual([quiet.id]);
  });

  it('reports a refused handshake as unauthorized', async () => {
    const c = client(null);
    const errors: (InboxError | undefined)[] = [];
    c.on('state', (_s, e) => errors.push(e));
    await until(c, () => c.state === 'unauthorized', 'unauthorized');
    expect(errors[0]?.code).toBe('UNAUTHORIZED');
  });

  it('works in a scope, and switchScope reconnects in another without a new client: cursor per scope, held ones cleared, listeners kept', async () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const u = 'c-scope';
    const [a1] = await t.service.notify(u, { type: 't', title: 'a1', scope: 'acme' });
    const [g1] = await t.service.notify(u, { type: 't', title: 'g1', scope: 'globex' });
    const [s1] = await t.service.notify(u, { type: 't', title: 's1' });
    const c = client(u, { scope: 'acme', persistCursor: { userId: u, storage } });
    const pushed: string[] = [];
    const changes: number[] = [];
    c.on('notification', (n) => pushed.push(n.title!));
    c.on('change', (items) => changes.push(items.length));
    await until(c, () => c.state === 'connected' && c.notifications.length === 2, 'acme synced');
    expect(c.scope).toBe('acme');
    expect(ids(c)).toEqual([s1.id, a1.id]);
    expect(c.unread).toBe(2);

    await c.switchScope('globex');
    expect(c.scope).toBe('globex');
    await until(c, () => c.notifications.length === 2, 'the globex page');
    expect(ids(c)).toEqual([s1.id, g1.id]);
    expect(changes).toContain(0); // what acme held went before globex's came
    expect(c.unread).toBe(2);
    await t.service.notify(u, { type: 't', title: 'a2', scope: 'acme' });
    const [g2] = await t.service.notify(u, { type: 't', title: 'g2', scope: 'globex' });
    await until(c, () => ids(c)[0] === g2.id && c.unread === 3, 'g2 live');
    expect(pushed).not.toContain('a2');
    expect(pushed).toContain('g2');
    // A cursor per scope: acme's stayed where acme stopped.
    expect(store.get('nestjs-inbox:cursor:/notifications:["c-scope","acme"]')).toBe(s1.id);
    expect(store.get('nestjs-inbox:cursor:/notifications:["c-scope","globex"]')).toBe(g2.id);

    // Mark-all in globex reads the unscoped one too, never acme's.
    await c.markAllRead();
    await c.switchScope('acme');
    await until(c, () => c.notifications.length === 3, 'the acme page again');
    expect(c.notifications.map((n) => [n.title, n.readAt === null])).toEqual([
      ['a2', true],
      ['s1', false],
      ['a1', true],
    ]);
    expect(c.unread).toBe(2);

    await c.switchScope(null);
    await until(c, () => c.notifications.length === 1, 'the unscoped page');
    expect(c.scope).toBeNull();
    expect(ids(c)).toEqual([s1.id]);
    expect(c.unread).toBe(0);
  });

  it("applies another scope's state message only to the unscoped notifications it holds", async () => {
    const u = 'c-scope-state';
    const [a1] = await t.service.notify(u, { type: 't', title: 'a1', scope: 'acme' });
    const [s1] = await t.service.notify(u, { type: 't', title: 's1' });
    const [g1] = await t.service.notify(u, { type: 't', title: 'g1', scope: 'globex' });
    const acme = client(u, { scope: 'acme' });
    const globex = client(u, { scope: 'globex' });
    await until(acme, () => acme.state === 'connected' && acme.notifications.length === 2, 'acme synced');
    await until(globex, () => globex.state === 'connected' && globex.notifications.length === 2, 'globex synced');
    await globex.markRead([g1.id, s1.id]);
    await until(acme, () => acme.notifications.find((n) => n.id === s1.id)?.readAt !== null, 's1 read in acme');
    await until(acme, () => acme.unread === 1, "acme's badge recounted");
    // Deleting everything in globex deletes the unscoped one everywhere; acme's stays.
    await globex.remove({ state: 'all' });
    await until(acme, () => ids(acme).length === 1, 's1 gone from acme');
    expect(ids(acme)).toEqual([a1.id]);
    expect(acme.notifications[0].readAt).toBeNull();
  });

  it('refuses a scope the host does not give (FORBIDDEN, rejected by switchScope) and a malformed one before anything changes', async () => {
    const c = client('c-scope-refused', { scope: 'acme' });
    await until(c, () => c.state === 'connected', 'acme');
    expect(() => c.switchScope('')).toThrow(InboxError);
    expect(() => c.switchScope('x'.repeat(201))).toThrow(/scope: must be at most 200 characters/);
    expect(c.scope).toBe('acme');
    expect(c.state).toBe('connected');
    const refused = await c.switchScope('forbidden').catch((err: InboxError) => err);
    expect(refused).toBeInstanceOf(InboxError);
    expect((refused as InboxError).code).toBe('FORBIDDEN');
    expect(c.state).toBe('unauthorized');
    await c.switchScope('acme');
    expect(c.state).toBe('connected');
    expect(() => new InboxClient({ scope: 'a\0b', autoConnect: false })).toThrow(/scope: must not contain NUL/);
  });
});
