import type { NotificationPayload } from '../protocol';
import { applyRead, compareIds, maxId, mergeNotifications } from './notification-list';

const n = (id: string, readAt: string | null = null): NotificationPayload => ({
  id,
  type: 't',
  title: `n${id}`,
  body: null,
  data: null,
  topic: null,
  broadcast: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  readAt,
});
const ids = (items: NotificationPayload[]) => items.map((x) => x.id);

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
});
