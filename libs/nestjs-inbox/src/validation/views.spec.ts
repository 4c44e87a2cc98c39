import { InvalidInputError } from '../notifications.errors';
import { parseListQuery, parseViews, toView } from './views';

const limits = { max: 100, default: 50 };

describe('toView: a filter as the store reads it', () => {
  it('is the inbox unless the filter names a state, and a single type is a list of one', () => {
    expect(toView({ type: 'mention' })).toEqual({ types: ['mention'], state: 'inbox' });
    expect(toView({ type: ['a', 'b'], state: 'archived', tags: ['x'], before: '9', after: '2' })).toMatchObject({
      types: ['a', 'b'],
      state: 'archived',
      tags: ['x'],
      before: '9',
      after: '2',
    });
  });
});

describe('parseViews: the named views a count reads', () => {
  it('gives each name its view', () => {
    expect(parseViews({ all: {}, mentions: { type: 'mention', state: 'unseen' } }, 'counts: views')).toEqual({
      all: { state: 'inbox' },
      mentions: { types: ['mention'], state: 'unseen' },
    });
  });

  it('refuses a view of read notifications, naming it, since it has no unread ones to count', () => {
    expect(() => parseViews({ done: { state: 'read' } }, 'counts: views')).toThrow(
      new InvalidInputError("counts: views: done.state: a count counts unread notifications, and 'read' has none (list them instead)"),
    );
  });

  it('refuses the view name __proto__ rather than answering without it', () => {
    // As a socket sends it: JSON.parse makes `__proto__` an own key, which a parsed record would take as its prototype.
    expect(() => parseViews(JSON.parse('{"__proto__": {}, "all": {}}'), 'notifications:counts: views')).toThrow(
      /^notifications:counts: views: __proto__: .*not a view name/,
    );
  });

  it('names the field of a bad filter', () => {
    expect(() => parseViews({ v: { state: 'nope' } }, 'notifications:counts: views')).toThrow(
      /^notifications:counts: views: v\.state: must be one of/,
    );
  });
});

describe('parseListQuery: a list query as one view and a page size', () => {
  it('reads the inbox, a default page, when the query is empty', () => {
    expect(parseListQuery({}, limits)).toEqual({ view: { state: 'inbox' }, limit: 50 });
  });

  it('refuses a limit over the maximum, saying both', () => {
    expect(() => parseListQuery({ limit: 101 }, limits)).toThrow('list query: limit: at most 100, got 101');
  });

  it('takes the shorthands unreadOnly and type as the filter fields they stand for', () => {
    expect(parseListQuery({ unreadOnly: true, type: 'mention' }, limits).view).toMatchObject({ state: 'unread', types: ['mention'] });
    expect(parseListQuery({ unreadOnly: true, filter: { state: 'unread' } }, limits).view.state).toBe('unread');
  });

  it('refuses a shorthand that disagrees with the filter rather than letting one win', () => {
    expect(() => parseListQuery({ unreadOnly: true, filter: { state: 'archived' } }, limits)).toThrow(
      "list query: unreadOnly and filter.state 'archived' disagree; pass one",
    );
    expect(() => parseListQuery({ type: 'a', filter: { type: 'b' } }, limits)).toThrow('list query: pass type or filter.type, not both');
  });

  it('reads below the older of two cursors, compared as numbers', () => {
    expect(parseListQuery({ before: '100', filter: { before: '99' } }, limits).view.before).toBe('99');
    expect(parseListQuery({ before: '9', filter: { before: '10' } }, limits).view.before).toBe('9');
    expect(parseListQuery({ filter: { before: '10' } }, limits).view.before).toBe('10');
  });
});
