import { InvalidInputError } from '../notifications.errors';
import { asInputError, checkedRecipients, checkedScope, checkedUserId, normaliseInput } from './notification-input';

describe('normaliseInput: a notification as a row stores it', () => {
  it('gives every absent field its stored empty value', () => {
    expect(normaliseInput({ type: 'reminder' }, 1000)).toEqual({
      type: 'reminder',
      title: null,
      body: null,
      data: null,
      dedupeKey: null,
      expiresAt: null,
      url: null,
      actions: [],
      actor: null,
      tags: [],
      scope: null,
      group: null,
    });
  });

  it('keeps a scope as given, and refuses a bad one naming it', () => {
    expect(normaliseInput({ type: 't', scope: ' Acme 😀 ' }, 1000).scope).toBe(' Acme 😀 ');
    expect(normaliseInput({ type: 't', scope: null }, 1000).scope).toBeNull();
    for (const scope of ['', 'x'.repeat(201), 7, ['a']]) {
      expect(() => normaliseInput({ type: 't', scope } as never, 1000)).toThrow(
        'notification: scope: must be a string of 1 to 200 characters',
      );
    }
    expect(() => normaliseInput({ type: 't', scope: 'a\u0000' }, 1000)).toThrow('notification: scope: must not contain NUL characters');
  });

  it('measures title, body, data, url, actions, actor and tags together, as JSON', () => {
    // ["ab",null,{"k":"cd"},null,null,null,null]: 42 bytes.
    const input = { type: 't', title: 'ab', data: { k: 'cd' } };
    expect(() => normaliseInput(input, 42)).not.toThrow();
    expect(() => normaliseInput(input, 41)).toThrow(
      'notification: title, body, data, url, actions, actor and tags take 42 bytes, at most 41 (maxPayloadBytes)',
    );
  });

  it('names where in data text Postgres cannot store is', () => {
    expect(() => normaliseInput({ type: 't', data: { items: [{ name: 'a\u0000b' }] } }, 1000)).toThrow(
      'notification: data.items.0.name: must not contain NUL characters',
    );
  });

  it('refuses data JSON cannot hold, naming the field', () => {
    expect(() => normaliseInput({ type: 't', data: { n: 1n } }, 1000)).toThrow(/^notification: data: must be serialisable as JSON/);
  });
});

describe('checkedRecipients: the audience of notify', () => {
  it('takes one id as a list of one, and each id once', () => {
    expect(checkedRecipients('a', 10)).toEqual(['a']);
    expect(checkedRecipients(['a', 'b', 'a'], 10)).toEqual(['a', 'b']);
  });

  it('refuses no recipients, too many, and a bad id, with the field named', () => {
    expect(() => checkedRecipients([], 10)).toThrow('notify: no recipients');
    expect(() => checkedRecipients(['a', 'b', 'c'], 2)).toThrow('notify: 3 recipients, at most 2 per call');
    expect(() => checkedRecipients(['a', ' b'], 10)).toThrow(/^notify: recipients: 1: must not start or end with whitespace/);
  });
});

describe('checkedUserId', () => {
  it('checks an id and never rewrites it', () => {
    expect(checkedUserId('alice')).toBe('alice');
    expect(() => checkedUserId(' alice')).toThrow(InvalidInputError);
  });
});

describe('asInputError: what Postgres refused as data', () => {
  const pgError = (code: string) => Object.assign(new Error('invalid input syntax'), { code, severity: 'ERROR', detail: 'at "x"' });

  it('turns SQLSTATE class 22 into INVALID_INPUT, with the message and detail', () => {
    expect(() => asInputError(pgError('22P02'))).toThrow(
      new InvalidInputError('notification: the database cannot store it: invalid input syntax (at "x") (SQLSTATE 22P02)'),
    );
  });

  it('rethrows anything else as it is, to be retried', () => {
    const lost = pgError('08006');
    expect(() => asInputError(lost)).toThrow(lost);
  });
});

describe('checkedScope: the inbox a method works on', () => {
  it('is unscoped without options, without a scope or with null', () => {
    expect(checkedScope(undefined, 'list')).toBeNull();
    expect(checkedScope({}, 'list')).toBeNull();
    expect(checkedScope({ scope: null }, 'list')).toBeNull();
    expect(checkedScope({ scope: 'acme' }, 'list')).toBe('acme');
  });

  it('refuses a bad scope or options that are not an object, naming the method', () => {
    expect(() => checkedScope({ scope: '' }, 'badge')).toThrow('badge: scope: must be a string of 1 to 200 characters');
    expect(() => checkedScope('acme' as never, 'badge')).toThrow('badge: options: must be an object ({ scope? })');
  });
});
