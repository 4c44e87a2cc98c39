import type { ListPage, ListQuery, NotificationPayload } from '../protocol';
import { Cursor } from './cursor';
import type { InboxEvents } from './inbox-events';
import { TypedEmitter } from './typed-emitter';
import { ViewState } from './view-state';

const n = (id: string, more: Partial<NotificationPayload> = {}): NotificationPayload => ({
  id,
  type: 't',
  title: `n${id}`,
  body: null,
  data: null,
  topic: null,
  scope: null,
  broadcast: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  seenAt: null,
  readAt: null,
  archived: false,
  url: null,
  actions: [],
  actor: null,
  tags: [],
  group: null,
  replaces: null,
  ...more,
});
const page = (ids: string[], nextCursor: string | null): ListPage => ({ items: ids.map((id) => n(id)), nextCursor });

/** A list request the test answers by hand, in any order. */
interface Pending {
  query: ListQuery;
  resolve: (page: ListPage) => void;
  reject: (err: Error) => void;
}

function setup(pageSize = 3) {
  const requests: Pending[] = [];
  const events = new TypedEmitter<InboxEvents>();
  const changes: string[][] = [];
  events.on('change', (items) => changes.push(items.map((x) => x.id)));
  const cursor = new Cursor();
  const readPage = (query: ListQuery) => new Promise<ListPage>((resolve, reject) => requests.push({ query, resolve, reject }));
  const view = new ViewState(pageSize, readPage, cursor, events);
  const ids = () => view.items.map((x) => x.id);
  /** Answers the latest request and lets the view take it. */
  const answer = async (p: ListPage, done: Promise<unknown>) => {
    requests[requests.length - 1].resolve(p);
    await done;
  };
  return { requests, changes, cursor, view, ids, answer };
}

describe('ViewState', () => {
  it('pages the inbox from the newest down, until a page says it is the last', async () => {
    const { requests, view, ids, answer, changes } = setup();
    expect(view.hasMore).toBe(true);
    await answer(page(['9', '8', '7'], '7'), view.loadMore());
    expect(requests[0].query).toEqual({ limit: 3 });
    await answer(page(['6'], null), view.loadMore());
    expect(requests[1].query).toEqual({ limit: 3, before: '7' });
    expect(ids()).toEqual(['9', '8', '7', '6']);
    expect(view.hasMore).toBe(false);
    await expect(view.loadMore()).resolves.toBe(false);
    expect(requests).toHaveLength(2);
    expect(changes).toEqual([
      ['9', '8', '7'],
      ['9', '8', '7', '6'],
    ]);
  });

  it('reports a change for an empty last page, since hasMore changed', async () => {
    const { view, answer, changes } = setup();
    await answer(page(['9'], '9'), view.loadMore());
    await answer(page([], null), view.loadMore());
    expect(changes).toEqual([['9'], ['9']]);
  });

  it('runs concurrent loadMore calls one after another, each from the cursor the one before left', async () => {
    const { requests, view, ids } = setup();
    const first = view.loadMore();
    const second = view.loadMore();
    expect(requests).toHaveLength(1);
    requests[0].resolve(page(['9', '8', '7'], '7'));
    await first;
    await vi.waitFor(() => expect(requests).toHaveLength(2));
    expect(requests[1].query.before).toBe('7');
    requests[1].resolve(page(['5'], null));
    await expect(second).resolves.toBe(false);
    expect(ids()).toEqual(['9', '8', '7', '5']);
  });

  it('moves the cursor with the inbox view only: a filtered view skips what it does not select', async () => {
    const { view, cursor, answer } = setup();
    await answer({ items: [n('12', { type: 'mention' })], nextCursor: null }, view.list({ type: 'mention' }));
    expect(view.items).toHaveLength(1);
    expect(cursor.current).toBeUndefined();
    await answer(page(['10'], null), view.list({}));
    expect(cursor.current).toBe('10');
  });

  it('list(filter) sends the filter, holds what fits until the page comes, and drops a page asked for the old view', async () => {
    const { requests, view, ids, answer } = setup();
    await answer({ items: [n('9', { type: 'mention' }), n('8')], nextCursor: '8' }, view.loadMore());
    const older = view.loadMore();
    const current = view.list({ type: 'mention' });
    expect(ids()).toEqual(['9']);
    requests[1].resolve(page(['7'], null));
    await older;
    expect(ids()).toEqual(['9']);
    await vi.waitFor(() => expect(requests).toHaveLength(3));
    expect(requests[2].query).toEqual({ limit: 3, filter: { type: 'mention' } });
    requests[2].resolve({ items: [n('9', { type: 'mention' }), n('4', { type: 'mention' })], nextCursor: null });
    await current;
    expect(ids()).toEqual(['9', '4']);
    expect(view.filter).toEqual({ type: 'mention' });
  });

  it('holds a pushed notification that fits the view, and only then', async () => {
    const { view, ids, answer } = setup();
    await answer(page(['5'], null), view.list({ type: 't' }));
    view.pushed(n('6'));
    view.pushed(n('7', { type: 'other' }));
    expect(ids()).toEqual(['6', '5']);
    expect(view.holds('6')).toBe(true);
    expect(view.holds('7')).toBe(false);
  });

  it('keeps what was pushed while the newest page was read, though the page does not list it yet', async () => {
    const { view, ids, answer } = setup();
    const loading = view.loadMore();
    view.pushed(n('10'));
    await answer(page(['9', '8'], null), loading);
    expect(ids()).toEqual(['10', '9', '8']);
  });

  it('on resync reads the newest page again: held ones it lacks left the view while away, older pages stay', async () => {
    const { requests, view, ids, answer } = setup(2);
    await answer(page(['9', '8'], '8'), view.loadMore());
    await answer(page(['7', '6'], '6'), view.loadMore());
    await answer(page(['9', '7'], '7'), view.resync()); // 8 was deleted elsewhere
    expect(requests[2].query).toEqual({ limit: 2 });
    expect(ids()).toEqual(['9', '7', '6']);
    expect(view.hasMore).toBe(true);
  });

  it('resyncs with the first page when none came yet, and keeps a failed read to itself', async () => {
    const { requests, view, ids } = setup();
    const failing = view.resync();
    requests[0].reject(new Error('not connected'));
    await expect(failing).resolves.toBeUndefined();
    const again = view.resync();
    expect(requests[1].query).toEqual({ limit: 3 });
    requests[1].resolve(page(['4'], null));
    await again;
    expect(ids()).toEqual(['4']);
  });

  it('after a truncated catch-up keeps only what it delivered and pages down from the newest again', async () => {
    const { requests, view, ids, answer, changes } = setup();
    await answer(page(['5', '4', '3'], '3'), view.loadMore());
    view.catchUpStarted();
    view.pushed(n('20'));
    view.pushed(n('19'));
    view.catchUpEnded(true);
    expect(ids()).toEqual(['20', '19']);
    expect(view.hasMore).toBe(true);
    await answer(page(['20', '19', '18'], '18'), view.resync());
    expect(requests[1].query).toEqual({ limit: 3 });
    expect(ids()).toEqual(['20', '19', '18']);
    expect(changes.at(-2)).toEqual(['20', '19']);
  });

  it('keeps what it held after a catch-up that was not truncated', async () => {
    const { view, ids, answer } = setup();
    await answer(page(['5', '4'], null), view.loadMore());
    view.catchUpStarted();
    view.pushed(n('6'));
    view.catchUpEnded(false);
    expect(ids()).toEqual(['6', '5', '4']);
  });

  it('clear() drops what it holds and a page on its way, keeps the filter, and reads the newest page on resync', async () => {
    const { requests, view, ids, answer, changes } = setup();
    await answer(page(['9', '8', '7'], '7'), view.list({ type: 't' }));
    const late = view.loadMore();
    view.clear();
    requests[1].resolve(page(['6'], null));
    await late;
    expect(ids()).toEqual([]);
    expect(changes[changes.length - 1]).toEqual([]);
    expect(view.filter).toEqual({ type: 't' });
    view.catchUpStarted();
    view.pushed(n('20'));
    view.catchUpEnded(false);
    await answer(page(['20', '19'], null), view.resync());
    expect(requests[2].query).toEqual({ limit: 3, filter: { type: 't' } });
    expect(ids()).toEqual(['20', '19']);
    expect(view.hasMore).toBe(false);
  });

  it('applies reads: they leave the unread view', async () => {
    const { view, ids, answer } = setup();
    await answer(page(['3', '2', '1'], null), view.list({ state: 'unread' }));
    view.applyRead({ ids: ['2'] });
    expect(ids()).toEqual(['3', '1']);
    view.applyRead({ all: true });
    expect(ids()).toEqual([]);
  });

  it('reads the view again when a change may bring into it what it does not hold', async () => {
    const { requests, view, answer } = setup();
    const read = { readAt: '2026-01-02T00:00:00.000Z' };
    await answer({ items: [n('3', read)], nextCursor: null }, view.list({ state: 'read' }));
    view.applyRead({ ids: ['3'] });
    expect(requests).toHaveLength(1); // held already
    view.applyRead({ ids: ['2'] });
    expect(requests).toHaveLength(2);
    requests[1].resolve({ items: [n('3', read), n('2', read)], nextCursor: null });
    await vi.waitFor(() => expect(view.items).toHaveLength(2));
    const archived = view.list({ state: 'archived' });
    await vi.waitFor(() => expect(requests).toHaveLength(3));
    await answer(page([], null), archived);
    view.applyState({ filter: { type: 't' }, change: 'archived' });
    expect(requests).toHaveLength(4);
  });

  it('applies state changes: archived and snoozed ones leave the inbox, seen ones stay', async () => {
    const { view, ids, answer } = setup();
    await answer(page(['3', '2', '1'], null), view.loadMore());
    view.applyState({ ids: ['3'], change: 'archived' });
    view.applyState({ ids: ['2'], change: 'snoozed' });
    view.applyState({ ids: ['1'], change: 'seen' });
    expect(ids()).toEqual(['1']);
    expect(view.items[0].seenAt).not.toBeNull();
  });

  it("replaces a group's item in place: live, when out of the view, and after a gap (a page whose item replaces one never seen)", async () => {
    const { view, ids, answer } = setup();
    const g = (id: string, replaces: string | null = null, more: Partial<NotificationPayload> = {}) =>
      n(id, { group: { key: 'post:1', count: 1, actors: [] }, replaces, ...more });
    await answer({ items: [g('5'), n('4')], nextCursor: null }, view.loadMore());
    view.pushed(g('6', '5'));
    expect(ids()).toEqual(['6', '4']);
    // An update of another type than the view's: the old item still goes.
    const filtered = setup();
    await filtered.answer({ items: [g('5', null, { type: 'comment' })], nextCursor: null }, filtered.view.list({ type: 'comment' }));
    expect(filtered.ids()).toEqual(['5']);
    filtered.view.pushed(g('7', '5', { type: 'reply' }));
    expect(filtered.ids()).toEqual([]);
    // After a gap: the item that arrives replaces one this client never held.
    view.pushed(g('9', '8'));
    expect(ids()).toEqual(['9', '4']);
  });

  it('checks the links of every page it takes', async () => {
    const { view, answer } = setup();
    await answer({ items: [n('1', { url: 'javascript:alert(1)' })], nextCursor: null }, view.loadMore());
    expect(view.items[0].url).toBeNull();
  });
});
