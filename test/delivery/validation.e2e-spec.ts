import { ClientEvent, InvalidInputError } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

describe('bad input is refused with a clear error and stores nothing', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let client: TestClient;
  const count = async () => (await t.dataSource.query(`SELECT count(*)::int AS n FROM inbox_notification`))[0].n;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { maxPayloadBytes: 1024, maxRecipients: 3 });
    client = await TestClient.connect(t.url, 'v-1');
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
    await db?.drop();
  });

  const ok = { type: 'message', title: 't' };
  const cases: [string, (t: TestApp) => Promise<unknown>, RegExp][] = [
    ['no recipients', (t) => t.service.notify([], ok), /notify: no recipients/],
    ['an empty recipient', (t) => t.service.notify(['a', ''], ok), /notify: recipients: 1: must be a non-empty string/],
    ['a recipient that is not a string', (t) => t.service.notify([42 as never], ok), /notify: recipients: 0: .*expected string/],
    ['too many recipients', (t) => t.service.notify(['a', 'b', 'c', 'd'], ok), /4 recipients, at most 3/],
    ['an empty type', (t) => t.service.notify('a', { type: ' ' }), /notification: type: must be a non-empty string/],
    ['a missing type', (t) => t.service.notify('a', {} as never), /notification: type: /],
    ['an unknown field', (t) => t.service.notify('a', { ...ok, colour: 'red' } as never), /Unrecognized key: "colour"/],
    ['data that is not an object', (t) => t.service.notify('a', { ...ok, data: [1] as never }), /notification: data: /],
    [
      'an oversize payload',
      (t) => t.service.notify('a', { ...ok, body: 'x'.repeat(2000) }),
      /take \d+ bytes, at most 1024 \(maxPayloadBytes\)/,
    ],
    ['data that is not JSON', (t) => t.service.notify('a', { ...ok, data: { n: 1n } }), /data: must be serialisable as JSON/],
    ['an expiry in the past', (t) => t.service.notify('a', { ...ok, expiresAt: new Date(0) }), /expiresAt: must be in the future/],
    ['an invalid expiry date', (t) => t.service.notify('a', { ...ok, expiresAt: new Date('nope') }), /expiresAt: /],
    ['a broadcast without type', (t) => t.service.broadcast({ type: '' }), /type: must be a non-empty string/],
    ['a publish to an empty topic', (t) => t.service.publish('', ok), /publish: topic: must be a non-empty string/],
    ['a malformed id to markRead', (t) => t.service.markRead('a', ['12abc']), /markRead: ids: 0: not a notification id/],
    ['a negative id to markRead', (t) => t.service.markRead('a', [-3]), /markRead: ids: 0: /],
    ['no ids to markRead', (t) => t.service.markRead('a', []), /markRead: ids: must name at least one id/],
    ['an id beyond bigint', (t) => t.service.markRead('a', ['99999999999999999999']), /not a notification id/],
    ['a bad cursor to list', (t) => t.service.list('a', { before: 'x' }), /list query: before: not a notification id/],
    ['a limit over the maximum', (t) => t.service.list('a', { limit: 1000 }), /limit: at most 100, got 1000/],
    ['a zero limit', (t) => t.service.list('a', { limit: 0 }), /list query: limit: /],
    ['an empty user id', (t) => t.service.unreadCount(''), /userId: must be a non-empty string/],
    ['a user id padded with spaces', (t) => t.service.notify(' alice', ok), /recipients: 0: must not start or end with whitespace/],
    ['a topic padded with spaces', (t) => t.service.subscribe('a', 'news '), /topic: must not start or end with whitespace/],
    ['a NUL character in a title', (t) => t.service.notify('a', { ...ok, title: 'a\u0000b' }), /title: must not contain NUL characters/],
    [
      'a NUL character in data',
      (t) => t.service.notify('a', { ...ok, data: { k: 'a\u0000' } }),
      /data\.k: must not contain NUL characters/,
    ],
    // A lone UTF-16 surrogate: jsonb refuses it, and pg would send it in a text parameter as U+FFFD.
    ...(
      [
        ['title', (t) => t.service.notify('a', { ...ok, title: 'a\ud800' }), /^notification: title: /],
        ['body', (t) => t.service.notify('a', { ...ok, body: '\udfffz' }), /^notification: body: /],
        ['type', (t) => t.service.broadcast({ type: 'm\udbff' }), /^notification: type: /],
        ['dedupeKey', (t) => t.service.notify('a', { ...ok, dedupeKey: 'k\ud800' }), /^notification: dedupeKey: /],
        ['url', (t) => t.service.notify('a', { ...ok, url: '/a\ud800' }), /^notification: url: /],
        [
          'an action label',
          (t) => t.service.notify('a', { ...ok, actions: [{ label: '\ud800', event: 'go' }] }),
          /^notification: actions\.0\.label: /,
        ],
        ['an actor name', (t) => t.service.notify('a', { ...ok, actor: { name: 'x\udc00' } }), /^notification: actor\.name: /],
        ['a tag', (t) => t.service.notify('a', { ...ok, tags: ['t\ud800'] }), /^notification: tags\.0: /],
        ['a data value', (t) => t.service.notify('a', { ...ok, data: { list: ['ok', 'x\ud800'] } }), /^notification: data\.list\.1: /],
        [
          'a data key',
          (t) => t.service.notify('a', { ...ok, data: { deep: { '\udc00': 1 } } }),
          /^notification: data\.deep: key "\\udc00": /,
        ],
        ['a recipient', (t) => t.service.notify(['a', 'b\ud800'], ok), /^notify: recipients: 1: /],
        ['a topic', (t) => t.service.publish('news\ud800', ok), /^publish: topic: /],
        ['a user id', (t) => t.service.subscribe('\ud800', 'news'), /^userId: /],
        ['a filter type', (t) => t.service.list('a', { filter: { type: 'm\ud800' } }), /^list query: filter\.type: /],
      ] as [string, (t: TestApp) => Promise<unknown>, RegExp][]
    ).map(([where, call, field]): (typeof cases)[number] => [
      `a lone surrogate in ${where}`,
      call,
      new RegExp(`${field.source}must not contain a lone UTF-16 surrogate \\(not valid Unicode\\)$`),
    ]),
    ['a user id that is not a string', (t) => t.service.isOnline(undefined as never), /userId: /],
    // Links: http(s) or site-relative only (README, NotificationInput).
    ...[
      'javascript:alert(1)',
      ' javascript:alert(1)',
      'JaVaScRiPt:alert(1)',
      '\tjavascript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'vbscript:msgbox(1)',
      '//evil.com',
      '/\\evil.com',
      'https:\\\\evil.com',
      '/\t/evil.com',
      'http:evil.com',
      'https://',
      'orders/7',
      '',
    ].map((url): (typeof cases)[number] => [
      `a url ${JSON.stringify(url)}`,
      (t) => t.service.notify('a', { ...ok, url }),
      /^notification: url: must (be an http\(s\) URL or a site-relative path starting with a single \/|not contain (backslashes|control characters))$/,
    ]),
    [
      'a url over 2048 characters',
      (t) => t.service.notify('a', { ...ok, url: `/${'x'.repeat(2048)}` }),
      /url: must be at most 2048 characters/,
    ],
    ['a url that is not a string', (t) => t.service.notify('a', { ...ok, url: 42 as never }), /notification: url: .*expected string/],
    [
      'an action without label',
      (t) => t.service.notify('a', { ...ok, actions: [{ url: '/x' } as never] }),
      /notification: actions\.0\.label: .*expected string/,
    ],
    [
      'an action with a blank label',
      (t) => t.service.notify('a', { ...ok, actions: [{ label: '  ', url: '/x' }] }),
      /actions\.0\.label: must be a non-empty string/,
    ],
    [
      'an action with a label over 100',
      (t) => t.service.notify('a', { ...ok, actions: [{ label: 'x'.repeat(101), url: '/x' }] }),
      /actions\.0\.label: must be at most 100 characters/,
    ],
    [
      'an action doing nothing',
      (t) => t.service.notify('a', { ...ok, actions: [{ label: 'Open' }] }),
      /actions\.0: needs a url, an event or both/,
    ],
    [
      'an action with a javascript: url',
      (t) =>
        t.service.notify('a', {
          ...ok,
          actions: [
            { label: 'ok', url: '/ok' },
            { label: 'Open', url: 'javascript:alert(1)' },
          ],
        }),
      /actions\.1\.url: must be an http\(s\) URL/,
    ],
    [
      'an action with a bad event',
      (t) => t.service.notify('a', { ...ok, actions: [{ label: 'Go', event: 'go now' }] }),
      /actions\.0\.event: must be an event name/,
    ],
    [
      'an action with an unknown field',
      (t) => t.service.notify('a', { ...ok, actions: [{ label: 'Go', event: 'go', style: 'red' } as never] }),
      /actions\.0: Unrecognized key: "style"/,
    ],
    [
      'too many actions',
      (t) => t.service.notify('a', { ...ok, actions: Array.from({ length: 4 }, (_, i) => ({ label: `a${i}`, event: `e${i}` })) }),
      /notification: actions: must have at most 3 actions/,
    ],
    [
      'actions that are not an array',
      (t) => t.service.notify('a', { ...ok, actions: { label: 'Go', event: 'go' } as never }),
      /notification: actions: .*expected array/,
    ],
    [
      'an actor with a javascript: avatar',
      (t) => t.service.notify('a', { ...ok, actor: { name: 'x', avatarUrl: 'javascript:alert(1)' } }),
      /actor\.avatarUrl: must be an http\(s\) URL/,
    ],
    ['an actor with an empty id', (t) => t.service.notify('a', { ...ok, actor: { id: '' } }), /actor\.id: must be 1 to 255 characters/],
    [
      'an actor with an unknown field',
      (t) => t.service.notify('a', { ...ok, actor: { name: 'x', email: 'x@y' } as never }),
      /actor: Unrecognized key: "email"/,
    ],
    [
      'too many tags',
      (t) => t.service.notify('a', { ...ok, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) }),
      /notification: tags: must have at most 10 tags/,
    ],
    ['a repeated tag', (t) => t.service.notify('a', { ...ok, tags: ['a', 'b', 'a'] }), /notification: tags\.2: repeats "a"/],
    ['an empty tag', (t) => t.service.notify('a', { ...ok, tags: [''] }), /tags\.0: must be 1 to 64 characters/],
    ['a tag over 64 characters', (t) => t.service.notify('a', { ...ok, tags: ['x'.repeat(65)] }), /tags\.0: must be 1 to 64 characters/],
    ['tags that are a string', (t) => t.service.notify('a', { ...ok, tags: 'news' as never }), /notification: tags: .*expected array/],
    ['a broadcast with a javascript: url', (t) => t.service.broadcast({ ...ok, url: 'javascript:alert(1)' }), /notification: url: /],
    [
      'a publish with a data: avatar',
      (t) => t.service.publish('news', { ...ok, actor: { avatarUrl: 'data:image/png;base64,AAAA' } }),
      /actor\.avatarUrl: /,
    ],
    [
      'url, actions and tags over maxPayloadBytes together',
      (t) =>
        t.service.notify('a', {
          ...ok,
          url: `/${'u'.repeat(500)}`,
          actions: [{ label: 'x'.repeat(100), url: `/${'a'.repeat(500)}` }],
          tags: ['t'.repeat(64)],
        }),
      /title, body, data, url, actions, actor and tags take \d+ bytes, at most 1024 \(maxPayloadBytes\)/,
    ],
  ];

  it.each(cases)('service: %s', async (_name, call, message) => {
    const before = await count();
    const err = await call(t).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).code).toBe('INVALID_INPUT');
    expect((err as Error).message).toMatch(message);
    expect(await count()).toBe(before);
  });

  const events: [string, string, unknown, RegExp][] = [
    ['list with a bad cursor', 'notifications:list', { before: 'abc' }, /before: not a notification id/],
    ['list with a string limit', 'notifications:list', { limit: '10' }, /limit: .*expected number/],
    ['list with a payload that is not an object', 'notifications:list', 'everything', /expected object/],
    ['read without ids', 'notifications:read', {}, /must be \{ ids: \[\.\.\.\] \} or \{ filter/],
    ['read with a malformed id', 'notifications:read', { ids: ['1; DROP TABLE'] }, /ids.0: not a notification id/],
    ['read with too many ids', 'notifications:read', { ids: Array.from({ length: 1001 }, (_, i) => String(i + 1)) }, /ids: .*1000/],
    ['read-all with fields', 'notifications:read-all', { userId: 'someone-else' }, /Unrecognized key: "userId"/],
    ['subscribe without topic', 'topics:subscribe', {}, /topic: .*expected string/],
    ['subscribe to an empty topic', 'topics:subscribe', { topic: '' }, /topic: must be a non-empty string/],
    ['unsubscribe with a number', 'topics:unsubscribe', { topic: 5 }, /topic: .*expected string/],
    [
      'subscribe to a topic with a lone surrogate',
      'topics:subscribe',
      { topic: 'news\ud800' },
      /topic: must not contain a lone UTF-16 surrogate/,
    ],
    [
      'list with a lone surrogate in a filter tag',
      'notifications:list',
      { filter: { tags: ['\udc00'] } },
      /filter\.tags\.0: must not contain a lone UTF-16 surrogate/,
    ],
  ];

  it.each(events)('socket: %s', async (_name, event, payload, message) => {
    const ack = await client.request(event, payload);
    expect(ack.error.code).toBe('INVALID_INPUT');
    expect(ack.error.message).toMatch(message);
    expect(client.socket.connected).toBe(true);
  });

  it('service: data may be any JSON object, typed by an interface or a class', async () => {
    interface OrderInfo {
      orderId: number;
    }
    class Link {
      constructor(readonly href: string) {}
    }
    const info: OrderInfo = { orderId: 7 };
    const [a] = await t.service.notify('data-1', { type: 'order', data: info });
    const [b] = await t.service.notify('data-1', { type: 'link', data: new Link('/orders/7') });
    expect(a.data).toEqual({ orderId: 7 });
    const page = await t.service.list('data-1');
    expect(page.items.map((n) => n.data)).toEqual([{ href: '/orders/7' }, { orderId: 7 }]);
    expect(b.id).toBeDefined();
  });

  it('service: text with well-formed surrogate pairs (emoji), keys included, is stored as given', async () => {
    const [n] = await t.service.notify('emoji-\u{1F600}', { type: 'm', title: '\u{1F680} launch', data: { '\u{1F44D}': ['\u{1F600}'] } });
    expect(n).toMatchObject({ userId: 'emoji-\u{1F600}', title: '\u{1F680} launch', data: { '\u{1F44D}': ['\u{1F600}'] } });
    expect((await t.service.list('emoji-\u{1F600}')).items.map((i) => i.title)).toEqual(['\u{1F680} launch']);
  });

  it('service: data Postgres refuses as data (SQLSTATE class 22) is INVALID_INPUT, outside a transaction and inside one', async () => {
    // A host's own rule on the table, whose cast fails for some data: a class 22 error the schema cannot foresee.
    await t.dataSource.query(
      `ALTER TABLE inbox_notification ADD CONSTRAINT host_numbered CHECK (type <> 'numbered' OR (data->>'n')::int > 0)`,
    );
    try {
      const before = await count();
      const refused = { type: 'numbered', data: { n: 'seven' } };
      for (const call of [
        () => t.service.notify('c22', refused),
        () => t.dataSource.transaction((manager) => t.service.notify('c22', refused, { manager })),
      ]) {
        const err = await call().then(
          () => null,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(InvalidInputError);
        expect((err as Error).message).toMatch(
          /^notification: the database cannot store it: invalid input syntax for type integer: "seven" \(SQLSTATE 22P02\)$/,
        );
      }
      expect(await count()).toBe(before);
      expect(await t.service.notify('c22', { type: 'numbered', data: { n: '7' } })).toHaveLength(1);
    } finally {
      await t.dataSource.query(`ALTER TABLE inbox_notification DROP CONSTRAINT host_numbered`);
    }
  });

  it('socket: an event without payload still gets an ack', async () => {
    expect(await client.request(ClientEvent.ReadAll)).toMatchObject({ unread: 0 });
    expect(await client.request(ClientEvent.List)).toEqual({ items: [], nextCursor: null });
  });

  it('handshake: a malformed cursor is refused with a reason', async () => {
    const err = await TestClient.refusal(t.url, 'v-2', { cursor: 'not-an-id' });
    expect(err.message).toBe('auth.cursor: must be the id of a notification');
    expect(err.data).toEqual({ code: 'INVALID_INPUT' });
  });

  it('handshake: no session, or a foreign Origin, is refused', async () => {
    expect((await TestClient.refusal(t.url, null)).message).toBe('unauthorized: no valid session');
    const foreign = await TestClient.refusal(t.url, 'v-3', { origin: 'https://evil.example' });
    expect(foreign.message).toBe('origin not allowed: https://evil.example');
  });
});
