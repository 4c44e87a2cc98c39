import { join } from 'node:path';
import { ServerEvent } from 'nestjs-inbox';
import { Client } from 'pg';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { until } from '../support/processes';
import { PHP, PRODUCERS_DIR, PYTHON, run } from '../support/producers';

/**
 * Backends in other languages notify through the SQL functions of the migrations, inside their
 * own transactions: a real Python program (psycopg2) and a real PHP one (php-pgsql). Two
 * gateway instances, without Redis: each learns of the rows by LISTEN and delivers them to its
 * own sockets.
 */
describe('SQL producers: inbox_notify, inbox_broadcast, inbox_publish', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let a: TestApp;
  let b: TestApp;
  const clients: TestClient[] = [];
  const connect = async (t: TestApp, user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };
  const python = (mode: string, calls: object[]) =>
    run(PYTHON, [join(PRODUCERS_DIR, 'sql_notify.py'), db.url, mode], JSON.stringify(calls)).then((out) => JSON.parse(out) as string[][]);
  const php = (call: object) =>
    run(PHP, [join(PRODUCERS_DIR, 'sql_publish.php'), libpqDsn(db.url)], JSON.stringify(call)).then((out) => JSON.parse(out) as string[]);
  const stored = async () => Number((await a.dataSource.query(`SELECT count(*) AS n FROM inbox_notification`))[0].n);
  /** What a socket received of `ids`, in order, each as often as it came. */
  const received = (c: TestClient, ids: string[]) => c.notifications.map((n) => n.id).filter((id) => ids.includes(id));

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    a = await startApp(db.url, { canSubscribe: () => true });
    b = await startApp(db.url, { canSubscribe: () => true });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await db?.drop();
  });

  it('delivers what a Python transaction committed to the recipients on every instance, once', async () => {
    const [onA, onB, other] = [await connect(a, 'sql-1'), await connect(b, 'sql-2'), await connect(b, 'sql-3')];
    const [ids] = await python('commit', [
      { fn: 'notify', to: ['sql-1', 'sql-2'], notification: { type: 'invoice', title: 'Invoice paid', data: { amount: 42 } } },
    ]);
    expect(ids).toHaveLength(2);
    const [n1, n2] = [await onA.waitForTitle('Invoice paid'), await onB.waitForTitle('Invoice paid')];
    expect(n1).toMatchObject({ type: 'invoice', data: { amount: 42 }, readAt: null, topic: null });
    expect(ids.sort()).toEqual([n1.id, n2.id].sort());
    await onA.waitFor(ServerEvent.Unread, (p) => p.count === 1);
    // Another notify wakes the instances again: what they delivered before is not sent twice.
    const [[again]] = await python('commit', [{ fn: 'notify', to: ['sql-1'], notification: { type: 'invoice', title: 'second' } }]);
    await onA.waitForTitle('second');
    expect(received(onA, [...ids, again])).toEqual([n1.id, again]);
    expect(received(other, [...ids, again])).toEqual([]);
  });

  it('delivers nothing that a Python transaction rolled back, and stores nothing', async () => {
    const c = await connect(a, 'sql-rb');
    const before = await stored();
    await python('rollback', [{ fn: 'notify', to: ['sql-rb'], notification: { type: 't', title: 'rolled back' } }]);
    await python('commit', [{ fn: 'notify', to: ['sql-rb'], notification: { type: 't', title: 'committed after' } }]);
    await c.waitForTitle('committed after');
    expect(c.notifications.map((n) => n.title)).not.toContain('rolled back');
    expect(await stored()).toBe(before + 1);
  });

  it('delivers transactions that commit out of id order, each once', async () => {
    const c = await connect(b, 'sql-ooo');
    const results = await python(
      'out-of-order',
      [1, 2, 3].map((i) => ({ fn: 'notify', to: ['sql-ooo'], notification: { type: 't', title: `ooo ${i}` } })),
    );
    const ids = results.flat();
    await until('every out-of-order commit arrives', () => received(c, ids).length >= 3);
    expect(received(c, ids).sort()).toEqual([...ids].sort());
    expect(BigInt(ids[0])).toBeLessThan(BigInt(ids[2])); // the first one, committed last
  });

  it('broadcasts and publishes from PHP to everyone and to subscribers, on both instances', async () => {
    const [x, y] = [await connect(a, 'php-1'), await connect(b, 'php-2')];
    await y.request('topics:subscribe', { topic: 'php-news' });
    const [bid] = await php({ topic: null, notification: { type: 'announcement', title: 'from PHP to all' } });
    await x.waitForTitle('from PHP to all');
    expect((await y.waitForTitle('from PHP to all')).id).toBe(bid);
    const [pid] = await php({ topic: 'php-news', notification: { type: 'release', title: 'from PHP to subscribers' } });
    expect(await y.waitForTitle('from PHP to subscribers')).toMatchObject({ id: pid, topic: 'php-news' });
    // x is not subscribed: a later notify reaches it, the publication did not.
    await python('commit', [{ fn: 'notify', to: ['php-1'], notification: { type: 't', title: 'after' } }]);
    await x.waitForTitle('after');
    expect(x.notifications.map((n) => n.id)).not.toContain(pid);
  });

  it('refuses bad input with a clear SQL error naming the field, and stores nothing', async () => {
    const before = await stored();
    const cases: [object, RegExp][] = [
      [
        { fn: 'notify', to: ['u'], notification: { title: 'no type' } },
        /22023 ERROR: {2}inbox_notify: notification\.type: must be a non-empty string/,
      ],
      [{ fn: 'notify', to: [], notification: { type: 't' } }, /inbox_notify: recipients: must name at least one user id/],
      [{ fn: 'notify', to: ['ok', ' padded'], notification: { type: 't' } }, /inbox_notify: recipients\[2\]: must be a user id/],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', data: [1, 2] } }, /notification\.data: must be a JSON object or null/],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', colour: 'red' } }, /notification\.colour: unknown field/],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', expiresAt: 'tomorrow-ish' } }, /notification\.expiresAt: not a date-time/],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', expiresAt: '2001-01-01T00:00:00Z' } },
        /notification\.expiresAt: must be in the future/,
      ],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', body: 'x'.repeat(20_000) } }, /take \d+ bytes, at most 16384/],
      [{ fn: 'publish', topic: '', notification: { type: 't' } }, /inbox_publish: topic: must be a topic/],
      [{ fn: 'broadcast', notification: 'just a string' }, /inbox_broadcast: notification: must be a JSON object/],
      // The presentation fields: the service's rules (validation/schemas), with the JSON path.
      ...['javascript:alert(1)', ' javascript:alert(1)', 'JaVaScRiPt:alert(1)', 'data:text/html,x', '//evil.com', 'orders/7'].map(
        (url): [object, RegExp] => [
          { fn: 'notify', to: ['u'], notification: { type: 't', url } },
          /22023 ERROR: {2}inbox_notify: notification\.url: must be an http\(s\) URL or a site-relative path starting with a single \//,
        ],
      ),
      [{ fn: 'notify', to: ['u'], notification: { type: 't', url: '/\\evil.com' } }, /notification\.url: must not contain backslashes/],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', url: '/\t/evil.com' } },
        /notification\.url: must not contain control characters/,
      ],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', url: `/${'x'.repeat(2048)}` } },
        /notification\.url: must be at most 2048 characters/,
      ],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', url: 7 } }, /notification\.url: must be a string or null/],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', actions: [{ url: '/x' }] } },
        /notification\.actions\[0\]\.label: must be a non-empty string/,
      ],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', actions: [{ label: 'Open' }] } },
        /notification\.actions\[0\]: needs a url, an event or both/,
      ],
      [
        {
          fn: 'notify',
          to: ['u'],
          notification: {
            type: 't',
            actions: [
              { label: 'a', url: '/a' },
              { label: 'b', url: 'javascript:alert(1)' },
            ],
          },
        },
        /notification\.actions\[1\]\.url: must be an http\(s\) URL/,
      ],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', actions: [{ label: 'Go', event: 'go now' }] } },
        /notification\.actions\[0\]\.event: must be an event name/,
      ],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', actions: [{ label: 'Go', event: 'go', style: 1 }] } },
        /notification\.actions\[0\]\.style: unknown field/,
      ],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', actions: [1, 2, 3, 4].map((i) => ({ label: `a${i}`, event: `e${i}` })) } },
        /notification\.actions: must have at most 3 actions/,
      ],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', actor: { avatarUrl: 'javascript:alert(1)' } } },
        /notification\.actor\.avatarUrl: must be an http\(s\) URL/,
      ],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', actor: { email: 'x@y' } } }, /notification\.actor\.email: unknown field/],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', actor: 'me' } }, /notification\.actor: must be a JSON object or null/],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) } },
        /notification\.tags: must have at most 10 tags/,
      ],
      [{ fn: 'notify', to: ['u'], notification: { type: 't', tags: ['a', 'b', 'a'] } }, /notification\.tags\[2\]: repeats "a"/],
      [
        { fn: 'notify', to: ['u'], notification: { type: 't', tags: ['x'.repeat(65)] } },
        /notification\.tags\[0\]: must be a string of 1 to 64 characters/,
      ],
      [{ fn: 'broadcast', notification: { type: 't', url: 'javascript:alert(1)' } }, /inbox_broadcast: notification\.url: /],
      [
        { fn: 'publish', topic: 'news', notification: { type: 't', tags: 'news' } },
        /inbox_publish: notification\.tags: must be an array of strings or null/,
      ],
      // A scope: 1 to 200 characters, or null (unscoped), in every door.
      ...['', 'x'.repeat(201), 42, ['acme'], { id: 1 }].flatMap((scope): [object, RegExp][] => [
        [
          { fn: 'notify', to: ['u'], notification: { type: 't', scope } },
          /22023 ERROR: {2}inbox_notify: notification\.scope: must be a string of 1 to 200 characters or null/,
        ],
        [{ fn: 'broadcast', notification: { type: 't', scope } }, /inbox_broadcast: notification\.scope: must be a string of 1 to 200/],
        [
          { fn: 'publish', topic: 'news', notification: { type: 't', scope } },
          /inbox_publish: notification\.scope: must be a string of 1 to 200/,
        ],
      ]),
      [
        // A body under the limit, which the links take over it.
        { fn: 'notify', to: ['u'], notification: { type: 't', body: 'x'.repeat(15_000), url: `/${'u'.repeat(2000)}` } },
        /title, body, data, url, actions, actor and tags take \d+ bytes, at most 16384 \(inbox\.max_payload_bytes\)/,
      ],
    ];
    for (const [call, message] of cases) {
      await expect(python('commit', [call])).rejects.toThrow(message);
    }
    expect(await stored()).toBe(before);
  });

  it("puts what Python and PHP send with a scope in that scope's inboxes only, and unscoped rows in every one", async () => {
    const acme = { scope: 'acme' };
    await a.service.subscribe('sql-sc-1', 'sql-sc-news', acme);
    const [[direct], [scopedAll], [all]] = await python('commit', [
      { fn: 'notify', to: ['sql-sc-1'], notification: { type: 't', title: 'direct in acme', scope: 'acme' } },
      { fn: 'broadcast', notification: { type: 't', title: 'to globex', scope: 'globex' } },
      { fn: 'broadcast', notification: { type: 't', title: 'to everyone', scope: null } },
    ]);
    const [published] = await php({ topic: 'sql-sc-news', notification: { type: 't', title: 'published in acme', scope: 'acme' } });
    const [elsewhere] = await php({ topic: 'sql-sc-news', notification: { type: 't', title: 'published in globex', scope: 'globex' } });
    const ids = async (opts: { scope?: string }) => (await a.service.list('sql-sc-1', { limit: 100, ...opts })).items.map((n) => n.id);
    expect(await ids(acme)).toEqual(expect.arrayContaining([published, direct, all]));
    expect(await ids(acme)).not.toEqual(expect.arrayContaining([scopedAll]));
    expect(await ids({ scope: 'globex' })).toEqual(expect.arrayContaining([scopedAll, all]));
    for (const id of [direct, published, elsewhere]) expect(await ids({ scope: 'globex' })).not.toContain(id);
    expect(await ids({})).toContain(all);
    for (const id of [direct, published, scopedAll]) expect(await ids({})).not.toContain(id);
    // Each (topic, scope) is a stream of its own, numbered from 1.
    expect(
      await a.dataSource.query(`SELECT title, scope, seq FROM inbox_notification WHERE id = ANY($1::bigint[]) ORDER BY id`, [
        [published, elsewhere, scopedAll],
      ]),
    ).toEqual([
      { title: 'to globex', scope: 'globex', seq: '1' },
      { title: 'published in acme', scope: 'acme', seq: '1' },
      { title: 'published in globex', scope: 'globex', seq: '1' },
    ]);
    // A dedupe key is per audience and scope.
    const once = (scope: string | null) => ({ fn: 'notify', to: ['sql-sc-1'], notification: { type: 't', dedupeKey: 'sc', scope } });
    expect((await python('commit', [once('acme'), once('globex'), once(null), once('acme')])).map((r) => r.length)).toEqual([1, 1, 1, 0]);
  });

  it('stores and delivers nothing new for a repeated dedupeKey', async () => {
    const c = await connect(a, 'sql-dd');
    const call = { fn: 'notify', to: ['sql-dd'], notification: { type: 't', title: 'once', dedupeKey: 'order-7' } };
    const [[first]] = await python('commit', [call]);
    expect(await python('commit', [call])).toEqual([[]]);
    await python('commit', [{ fn: 'notify', to: ['sql-dd'], notification: { type: 't', title: 'marker' } }]);
    await c.waitForTitle('marker');
    expect(received(c, [first])).toEqual([first]);
  });

  // InboxSqlLeanStore stores a one-recipient call with its own INSERT: it must read that one
  // element wherever the array puts it, as the general statement's unnest does.
  it("stores a one-recipient call in that user's inbox whatever the array's bounds or dimensions", async () => {
    const before = await stored();
    const rows = await a.dataSource.query(
      `SELECT inbox_notify('[0:0]={sql-lb-1}'::text[], '{"type": "t", "title": "bounds"}'::jsonb) AS b,
              inbox_notify('{{sql-lb-2}}'::text[], '{"type": "t", "title": "dims"}'::jsonb) AS d,
              inbox_notify(ARRAY['sql-lb-3'], '{"type": "t", "title": "plain", "data": {"k": 1}}'::jsonb) AS p`,
    );
    const ids = [rows[0].b, rows[0].d, rows[0].p].map((x: string[]) => {
      expect(x).toHaveLength(1);
      return String(x[0]);
    });
    const got = await a.dataSource.query(
      `SELECT user_id, topic, scope, title, data, tags, via_sql FROM inbox_notification WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [ids],
    );
    expect(got).toEqual([
      { user_id: 'sql-lb-1', topic: null, scope: '', title: 'bounds', data: null, tags: [], via_sql: true },
      { user_id: 'sql-lb-2', topic: null, scope: '', title: 'dims', data: null, tags: [], via_sql: true },
      { user_id: 'sql-lb-3', topic: null, scope: '', title: 'plain', data: { k: 1 }, tags: [], via_sql: true },
    ]);
    expect(await stored()).toBe(before + 3);
  });

  it('carries url, actions, actor and tags from Python and PHP to the sockets and the list', async () => {
    const [onA, onB] = [await connect(a, 'sql-shown-1'), await connect(b, 'sql-shown-2')];
    await onB.request('topics:subscribe', { topic: 'sql-shown' });
    const shown = {
      url: 'https://shop.example/orders/7',
      actions: [
        { label: 'Track', url: '/orders/7/track' },
        { label: 'Confirm', event: 'order:received' },
      ],
      actor: { id: 'shop', name: 'The shop', avatarUrl: '/avatars/shop.png' },
      tags: ['orders', 'shipping'],
    };
    const [ids, [bid]] = await python('commit', [
      { fn: 'notify', to: ['sql-shown-1', 'sql-shown-2'], notification: { type: 'order', title: 'shown', ...shown } },
      { fn: 'broadcast', notification: { type: 'news', title: 'shown to all', url: '/news/1', tags: ['news'], actions: [], actor: null } },
    ]);
    const none = { url: null, actions: [], actor: null, tags: [] };
    for (const c of [onA, onB]) {
      expect(ids).toContain((await c.waitForTitle('shown')).id);
      expect(await c.waitForTitle('shown')).toMatchObject(shown);
      expect(await c.waitForTitle('shown to all')).toMatchObject({ id: bid, broadcast: true, ...none, url: '/news/1', tags: ['news'] });
    }
    const [pid] = await php({
      topic: 'sql-shown',
      notification: { type: 'release', title: 'shown from PHP', actions: [{ label: 'Open', url: '/v2' }] },
    });
    expect(await onB.waitForTitle('shown from PHP')).toMatchObject({ id: pid, ...none, actions: [{ label: 'Open', url: '/v2' }] });
    expect((await b.service.list('sql-shown-2')).items.slice(0, 3).map((n) => [n.title, n.url, n.actions, n.actor, n.tags])).toEqual([
      ['shown from PHP', null, [{ label: 'Open', url: '/v2' }], null, []],
      ['shown to all', '/news/1', [], null, ['news']],
      ['shown', shown.url, shown.actions, shown.actor, shown.tags],
    ]);
  });

  it('catches up on what committed while its listening connection was down', async () => {
    const c = await connect(a, 'sql-down');
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    try {
      const listeners = () =>
        admin.query(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'nestjs-inbox listener'`);
      expect((await listeners()).rowCount).toBe(2);
      // Postgres ends both instances' listening connections, as a restart would.
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'nestjs-inbox listener'`,
      );
      const [[id]] = await python('commit', [{ fn: 'notify', to: ['sql-down'], notification: { type: 't', title: 'while down' } }]);
      const got = await c.waitFor<{ id: string; title: string }>(ServerEvent.Notification, (n) => n.title === 'while down', {
        timeoutMs: 10_000,
      });
      expect(got.id).toBe(id);
      await until('both instances listen again', async () => (await listeners()).rowCount === 2, 10_000);
    } finally {
      await admin.end();
    }
  });
});

/** php-pgsql takes a libpq keyword string, not a URL. */
function libpqDsn(url: string): string {
  const u = new URL(url);
  return `host=${u.hostname} port=${u.port || 5432} dbname=${u.pathname.slice(1)} user=${decodeURIComponent(u.username)}`;
}
