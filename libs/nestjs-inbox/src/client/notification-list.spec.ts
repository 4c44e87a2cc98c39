import type { NotificationPayload } from '../protocol';
import {
  applyRead,
  applyState,
  compareIds,
  inView,
  matchesFilter,
  mayEnterView,
  maxId,
  mergeNotifications,
  pageWithSafeLinks,
  reconcileNewestPage,
  supersede,
  withSafeLinks,
} from './notification-list';

const n = (id: string, readAt: string | null = null, more: Partial<NotificationPayload> = {}): NotificationPayload => ({
  id,
  type: 't',
  title: `n${id}`,
  body: null,
  data: null,
  topic: null,
  scope: null,
  broadcast: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  seenAt: readAt,
  readAt,
  archived: false,
  url: null,
  actions: [],
  actor: null,
  tags: [],
  group: null,
  replaces: null,
  ...more,
});
const ids = (items: readonly NotificationPayload[]) => items.map((x) => x.id);

describe('compareIds', () => {
  it('orders decimal bigint strings numerically, beyond 2^53', () => {
    expect(compareIds('9', '10')).toBeLessThan(0);
    expect(compareIds('100', '99')).toBeGreaterThan(0);
    expect(compareIds('9007199254740993', '9007199254740992')).toBeGreaterThan(0);
    expect(compareIds('42', '42')).toBe(0);
  });

  it('maxId treats undefined as smaller than any id', () => {
    expect(maxId(undefined, '5')).toBe('5');
    expect(maxId('10', '9')).toBe('10');
    expect(maxId(undefined, undefined)).toBeUndefined();
  });
});

describe('mergeNotifications', () => {
  it('keeps items newest first and reports only the new ones', () => {
    const { items, added } = mergeNotifications([n('10'), n('8')], [n('9'), n('11'), n('2')]);
    expect(ids(items)).toEqual(['11', '10', '9', '8', '2']);
    expect(ids(added)).toEqual(['9', '11', '2']);
  });

  it('drops duplicates, including within one batch', () => {
    const { items, added } = mergeNotifications([n('3'), n('1')], [n('3'), n('2'), n('2')]);
    expect(ids(items)).toEqual(['3', '2', '1']);
    expect(ids(added)).toEqual(['2']);
  });

  it('inserts a late-committed older id in its place', () => {
    const { items } = mergeNotifications([n('20'), n('18')], [n('19')]);
    expect(ids(items)).toEqual(['20', '19', '18']);
  });

  it('returns the same array when nothing changes, so callers can skip a re-render', () => {
    const held = [n('2'), n('1')];
    expect(mergeNotifications(held, [n('1')]).items).toBe(held);
  });

  it('takes the read state of a duplicate that was read since', () => {
    const { items, added } = mergeNotifications([n('5')], [n('5', '2026-01-02T00:00:00.000Z')]);
    expect(added).toEqual([]);
    expect(items[0].readAt).toBe('2026-01-02T00:00:00.000Z');
    expect(items[0].seenAt).toBe('2026-01-02T00:00:00.000Z');
  });

  it('never un-reads or un-sees from a stale copy, and takes archived from the copy', () => {
    const at = '2026-01-02T00:00:00.000Z';
    const held = [n('5', at)];
    const { items } = mergeNotifications(held, [n('5', null, { archived: true })]);
    expect(items[0]).toMatchObject({ readAt: at, seenAt: at, archived: true });
    const seen = mergeNotifications([n('6')], [n('6', null, { seenAt: at })]).items;
    expect(seen[0]).toMatchObject({ seenAt: at, readAt: null });
    const unarchived = mergeNotifications([n('7', null, { archived: true })], [n('7')]).items;
    expect(unarchived[0].archived).toBe(false);
  });
});

describe('applyRead', () => {
  const at = '2026-01-03T00:00:00.000Z';
  const already = '2026-01-02T00:00:00.000Z';

  it('marks the named ids read and keeps an earlier read time', () => {
    const items = applyRead([n('3'), n('2', already), n('1')], { ids: ['1', '2'] }, at);
    expect(items.map((x) => x.readAt)).toEqual([null, already, at]);
  });

  it('marks everything read for { all: true }', () => {
    const items = applyRead([n('2'), n('1')], { all: true }, at);
    expect(items.every((x) => x.readAt === at)).toBe(true);
  });

  it('applies a read made in another scope only to unscoped items, one in the same scope to all', () => {
    const held = [n('3', null, { scope: 'acme' }), n('2', null, { scope: null }), n('1', null, { scope: 'acme' })];
    expect(applyRead(held, { all: true, scope: 'globex' }, at).map((x) => x.readAt)).toEqual([null, at, null]);
    expect(applyRead(held, { ids: ['1', '2'], scope: null }, at).map((x) => x.readAt)).toEqual([null, at, null]);
    expect(applyRead(held, { ids: ['1', '2'], scope: 'acme' }, at).map((x) => x.readAt)).toEqual([null, at, at]);
    // A server before scopes sends none, and its items have none: everything applies.
    expect(applyRead([n('1')], { all: true }, at)[0].readAt).toBe(at);
  });

  it('sets seen with read, keeping an earlier seen time', () => {
    const items = applyRead([n('2', null, { seenAt: already }), n('1')], { all: true }, at);
    expect(items.map((x) => x.seenAt)).toEqual([already, at]);
  });
});

describe('matchesFilter', () => {
  const at = '2026-01-02T00:00:00.000Z';
  const unseen = n('1');
  const seen = n('2', null, { seenAt: at });
  const read = n('3', at);
  const archived = n('4', null, { archived: true });
  const archivedRead = n('5', at, { archived: true });
  const all = [unseen, seen, read, archived, archivedRead];
  const pick = (filter: Parameters<typeof matchesFilter>[1]) => ids(all.filter((x) => matchesFilter(x, filter)));

  it('without a state selects the inbox: everything not archived', () => {
    expect(pick({})).toEqual(['1', '2', '3']);
  });

  it('unseen, unread and read are within the inbox; archived only archived ones; all everything', () => {
    expect(pick({ state: 'unseen' })).toEqual(['1']);
    expect(pick({ state: 'unread' })).toEqual(['1', '2']);
    expect(pick({ state: 'read' })).toEqual(['3']);
    expect(pick({ state: 'archived' })).toEqual(['4', '5']);
    expect(pick({ state: 'all' })).toEqual(['1', '2', '3', '4', '5']);
  });

  it('counts a read notification as seen even without a seen time', () => {
    expect(matchesFilter(n('9', at, { seenAt: null }), { state: 'unseen' })).toBe(false);
  });

  it('selects by type or types, topic, and every one of the tags', () => {
    const mention = n('10', null, { type: 'mention', tags: ['team', 'urgent'] });
    const post = n('11', null, { type: 'publish', topic: 'releases', tags: ['team'] });
    expect(matchesFilter(mention, { type: 'mention' })).toBe(true);
    expect(matchesFilter(post, { type: 'mention' })).toBe(false);
    expect(matchesFilter(post, { type: ['mention', 'publish'] })).toBe(true);
    expect(matchesFilter(post, { topic: 'releases' })).toBe(true);
    expect(matchesFilter(mention, { topic: 'releases' })).toBe(false);
    expect(matchesFilter(mention, { tags: ['team', 'urgent'] })).toBe(true);
    expect(matchesFilter(post, { tags: ['team', 'urgent'] })).toBe(false);
    expect(matchesFilter(post, { type: 'publish', state: 'archived' })).toBe(false);
  });

  it('bounds by id, exclusive, compared as bigints', () => {
    expect(matchesFilter(n('10'), { before: '10' })).toBe(false);
    expect(matchesFilter(n('9'), { before: '10' })).toBe(true);
    expect(matchesFilter(n('10'), { after: '9' })).toBe(true);
    expect(matchesFilter(n('9'), { after: '9' })).toBe(false);
    expect(matchesFilter(n('9007199254740993'), { after: '9007199254740992' })).toBe(true);
  });
});

describe('applyState', () => {
  const at = '2026-01-03T00:00:00.000Z';
  const before = '2026-01-02T00:00:00.000Z';

  it('marks seen the named ids, keeping an earlier time, and a read one as seen when it was read', () => {
    const items = applyState(
      [n('3'), n('2', null, { seenAt: before }), n('1', before, { seenAt: null })],
      { ids: ['1', '2', '3'], change: 'seen' },
      at,
    );
    expect(items.map((x) => x.seenAt)).toEqual([at, before, before]);
    expect(items.map((x) => x.readAt)).toEqual([null, null, before]);
  });

  it('read implies seen', () => {
    const [x] = applyState([n('1')], { ids: ['1'], change: 'read' }, at);
    expect(x).toMatchObject({ readAt: at, seenAt: at });
  });

  it('archives and unarchives by id, leaving the others alone', () => {
    const held = [n('2'), n('1')];
    const archived = applyState(held, { ids: ['1'], change: 'archived' }, at);
    expect(archived.map((x) => x.archived)).toEqual([false, true]);
    expect(archived[0]).toBe(held[0]);
    const back = applyState(archived, { ids: ['1'], change: 'unarchived' }, at);
    expect(back.map((x) => x.archived)).toEqual([false, false]);
  });

  it('drops deleted and snoozed ones from the list', () => {
    expect(ids(applyState([n('3'), n('2'), n('1')], { ids: ['2', '9'], change: 'deleted' }, at))).toEqual(['3', '1']);
    expect(ids(applyState([n('3'), n('2'), n('1')], { ids: ['3'], change: 'snoozed' }, at))).toEqual(['2', '1']);
  });

  it('applies a filter to the held ones it matches here', () => {
    const held = [n('4', null, { type: 'a' }), n('3', before, { type: 'a' }), n('2', null, { type: 'b' }), n('1', before, { type: 'b' })];
    const archivedRead = applyState(held, { filter: { state: 'read' }, change: 'archived' }, at);
    expect(archivedRead.map((x) => x.archived)).toEqual([false, true, false, true]);
    const deletedA = applyState(held, { filter: { type: 'a' }, change: 'deleted' }, at);
    expect(ids(deletedA)).toEqual(['2', '1']);
    const readOld = applyState(held, { filter: { state: 'unread', before: '3' }, change: 'read' }, at);
    expect(readOld.map((x) => x.readAt)).toEqual([null, before, at, before]);
  });

  it('a filter without a state leaves archived ones alone, as on the server', () => {
    const held = [n('2', null, { archived: true }), n('1')];
    expect(ids(applyState(held, { filter: {}, change: 'deleted' }, at))).toEqual(['2']);
    expect(ids(applyState(held, { filter: { state: 'all' }, change: 'deleted' }, at))).toEqual([]);
  });

  it('applies a change made in another scope only to unscoped items (item.scope === null || item.scope === message.scope)', () => {
    const held = [n('3', null, { scope: 'acme' }), n('2', null, { scope: null }), n('1', null, { scope: 'globex' })];
    expect(ids(applyState(held, { filter: { state: 'all' }, change: 'deleted', scope: 'acme' }, at))).toEqual(['1']);
    expect(ids(applyState(held, { ids: ['1', '2', '3'], change: 'deleted', scope: null }, at))).toEqual(['3', '1']);
    const seenInGlobex = applyState(held, { ids: ['1', '2', '3'], change: 'seen', scope: 'globex' }, at);
    expect(seenInGlobex.map((x) => x.seenAt)).toEqual([null, at, at]);
    expect(applyState(held, { ids: ['3'], change: 'read', scope: 'globex' }, at)).toBe(held);
  });

  it('returns the same array when nothing changes', () => {
    const held = [n('2', before), n('1', before)];
    expect(applyState(held, { ids: ['1', '2'], change: 'read' }, at)).toBe(held);
    expect(applyState(held, { ids: ['7'], change: 'deleted' }, at)).toBe(held);
  });
});

describe('inView', () => {
  it('keeps what the view selects: archived ones leave the inbox, read ones leave unread', () => {
    const at = '2026-01-02T00:00:00.000Z';
    const held = [n('3', null, { archived: true }), n('2', at), n('1')];
    expect(ids(inView(held, {}))).toEqual(['2', '1']);
    expect(ids(inView(held, { state: 'unread' }))).toEqual(['1']);
    expect(ids(inView(held, { state: 'archived' }))).toEqual(['3']);
    expect(inView(held, { state: 'all' })).toBe(held);
  });
});

describe('mayEnterView', () => {
  it('says which changes bring in notifications a view did not hold', () => {
    expect(mayEnterView('archived', { state: 'archived' })).toBe(true);
    expect(mayEnterView('archived', {})).toBe(false);
    expect(mayEnterView('unarchived', {})).toBe(true);
    expect(mayEnterView('unarchived', { type: 'a', state: 'unread' })).toBe(true);
    expect(mayEnterView('unarchived', { state: 'archived' })).toBe(false);
    expect(mayEnterView('unarchived', { state: 'all' })).toBe(false); // held already
    expect(mayEnterView('read', { state: 'read' })).toBe(true);
    expect(mayEnterView('read', {})).toBe(false);
    for (const change of ['seen', 'deleted', 'snoozed'] as const) {
      for (const state of [undefined, 'unseen', 'unread', 'read', 'archived', 'all'] as const) {
        expect(mayEnterView(change, { state })).toBe(false);
      }
    }
  });
});

describe('reconcileNewestPage', () => {
  const none = new Set<string>();

  it('drops held ones in the page range that the page lacks, keeps older pages when asked', () => {
    const held = [n('9'), n('8'), n('7'), n('5'), n('2'), n('1')];
    // 8 left the view elsewhere; 10 is new; the page covers 10..5
    const page = { items: [n('10'), n('9'), n('7'), n('5')], nextCursor: '5' };
    expect(ids(reconcileNewestPage(held, page, none, true))).toEqual(['10', '9', '7', '5', '2', '1']);
    expect(ids(reconcileNewestPage(held, page, none, false))).toEqual(['10', '9', '7', '5']);
  });

  it('keeps what arrived while the page was read', () => {
    const held = [n('12'), n('9')];
    const page = { items: [n('9')], nextCursor: null };
    expect(ids(reconcileNewestPage(held, page, new Set(['12']), true))).toEqual(['12', '9']);
    expect(ids(reconcileNewestPage(held, page, none, true))).toEqual(['9']);
  });

  it('treats the last page as the whole view', () => {
    const held = [n('3'), n('2'), n('1')];
    expect(ids(reconcileNewestPage(held, { items: [n('3')], nextCursor: null }, none, true))).toEqual(['3']);
    expect(reconcileNewestPage(held, { items: [], nextCursor: null }, none, true)).toEqual([]);
  });

  it('takes the page state, except that seen and read never go back', () => {
    const at = '2026-01-02T00:00:00.000Z';
    const held = [n('2', at), n('1')];
    const page = { items: [n('2'), n('1', null, { seenAt: at })], nextCursor: null };
    const items = reconcileNewestPage(held, page, none, true);
    expect(items.map((x) => [x.readAt, x.seenAt])).toEqual([
      [at, at],
      [null, at],
    ]);
  });
});

describe("withSafeLinks: the links a row written around the server's checks could carry", () => {
  it('returns the notification itself when every link is http(s) or site-relative', () => {
    const ok = n('1', null, {
      url: '/orders/7',
      actions: [
        { label: 'Open', url: 'https://app.example.com/x' },
        { label: 'Ack', event: 'ack' },
      ],
      actor: { name: 'Ann', avatarUrl: '/avatars/ann.svg' },
    });
    expect(withSafeLinks(ok)).toBe(ok);
    const page = { items: [ok, n('2')], nextCursor: null };
    expect(pageWithSafeLinks(page)).toBe(page);
  });

  it.each([
    'javascript:alert(1)',
    'JavaScript:alert(1)',
    'data:text/html,<script>x</script>',
    '//evil.example/x',
    '/\\evil.example',
    '/\t/evil.example',
    'vbscript:x',
  ])('drops %j from url, action urls and avatarUrl, keeping what is safe', (bad) => {
    const row = n('1', null, {
      url: bad,
      actions: [
        { label: 'Open', url: bad },
        { label: 'Both', url: bad, event: 'both' },
        { label: 'Fine', url: '/fine' },
      ],
      actor: { id: 'u1', name: 'Ann', avatarUrl: bad },
    });
    const safe = withSafeLinks(row);
    expect(safe.url).toBeNull();
    expect(safe.actions).toEqual([
      { label: 'Both', event: 'both' },
      { label: 'Fine', url: '/fine' },
    ]);
    expect(safe.actor).toEqual({ id: 'u1', name: 'Ann' });
    expect(safe.title).toBe(row.title);
    // The held copy is new; the one received is left as it came.
    expect(row.url).toBe(bad);
  });

  it('treats a link that is not a string, and actions that are not a list, as absent', () => {
    const row = n('1', null, {
      url: 42 as unknown as string,
      actions: 'x' as unknown as [],
      actor: { avatarUrl: {} as unknown as string },
    });
    expect(withSafeLinks(row)).toMatchObject({ url: null, actions: [], actor: {} });
  });

  it('drops an action that is not an object rather than throwing', () => {
    const row = n('1', null, { actions: [null, 'x', { label: 'Ok', url: '/ok' }] as unknown as [] });
    expect(withSafeLinks(row).actions).toEqual([{ label: 'Ok', url: '/ok' }]);
  });

  it('checks every item of a page', () => {
    const page = { items: [n('2', null, { url: 'javascript:x' }), n('1')], nextCursor: '1' };
    const safe = pageWithSafeLinks(page);
    expect(safe.items.map((x) => x.url)).toEqual([null, null]);
    expect(safe.items[1]).toBe(page.items[1]);
    expect(safe.nextCursor).toBe('1');
  });
});

describe('supersede (groups)', () => {
  const g = (id: string, key: string, more: Partial<NotificationPayload> = {}) =>
    n(id, null, { group: { key, count: 1, actors: [] }, ...more });

  it('drops the item a notification replaces, and keeps the newest unread item per group (scope and key)', () => {
    const held = [g('9', 'k'), n('8'), g('5', 'k'), g('4', 'k', { scope: 'acme' }), g('3', 'j'), g('2', 'k', { readAt: 'x' })];
    expect(ids(supersede(held))).toEqual(['9', '8', '4', '3', '2']);
    expect(ids(supersede(held, [g('10', 'j', { replaces: '3' })]))).toEqual(['9', '8', '4', '2']);
  });

  it('returns the list itself when nothing goes', () => {
    const held = [g('9', 'k'), g('8', 'j')];
    expect(supersede(held, [n('10')])).toBe(held);
  });

  it('matchesFilter: a group filter selects that group', () => {
    expect(matchesFilter(g('1', 'k'), { group: 'k' })).toBe(true);
    expect(matchesFilter(g('1', 'j'), { group: 'k' })).toBe(false);
    expect(matchesFilter(n('1'), { group: 'k' })).toBe(false);
  });
});
