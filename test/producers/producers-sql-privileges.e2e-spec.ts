import { randomBytes } from 'node:crypto';
import { NOTIFICATIONS_MIGRATIONS } from 'nestjs-inbox';
import { Client, DatabaseError } from 'pg';
import { DataSource } from 'typeorm';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase, PG_ADMIN_URL } from '../support/database';

/** The grant the README gives a producer's role, and nothing more. */
const DOORS = [
  'inbox_notify(text[], jsonb)',
  'inbox_notify(text[], text)',
  'inbox_broadcast(jsonb)',
  'inbox_broadcast(text)',
  'inbox_publish(text, jsonb)',
  'inbox_publish(text, text)',
];

/** A connection URL to the same database as another role (trust authentication, as on the test server). */
function urlAs(url: string, role: string): string {
  const u = new URL(url);
  u.username = role;
  return u.toString();
}

async function onCluster(sql: string): Promise<void> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

/** The error a query fails with (the test fails if it does not). */
async function failure(query: Promise<unknown>): Promise<DatabaseError> {
  const outcome = await query.then(
    () => new Error('the query succeeded'),
    (e: unknown) => e,
  );
  if (!(outcome instanceof DatabaseError)) throw outcome;
  return outcome;
}

/**
 * The SQL door runs with its own rights (issue 20): real roles on the real server, each with a
 * name of its own (roles are cluster-wide; other runs share the server), dropped at the end.
 */
describe('SQL producers: privileges', () => {
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const producer = `inbox_producer_${suffix}`;
  const stranger = `inbox_stranger_${suffix}`;
  const attacker = `inbox_attacker_${suffix}`;
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let app: TestApp;
  let admin: Client;
  const opened: { end(): Promise<void> }[] = [];
  const connectAs = async (role: string) => {
    const c = new Client({ connectionString: urlAs(db.url, role) });
    await c.connect();
    opened.push(c);
    return c;
  };
  const sockets: TestClient[] = [];
  const socket = async (user: string) => {
    const c = await TestClient.connect(app.url, user);
    sockets.push(c);
    return c;
  };
  const count = async (where: string) =>
    Number((await admin.query(`SELECT count(*) AS n FROM inbox_notification WHERE ${where}`)).rows[0].n);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    app = await startApp(db.url, { canSubscribe: () => true });
    admin = new Client({ connectionString: db.url });
    await admin.connect();
    await onCluster(`CREATE ROLE ${producer} LOGIN; CREATE ROLE ${stranger} LOGIN; CREATE ROLE ${attacker} LOGIN`);
    await admin.query(`GRANT USAGE ON SCHEMA public TO ${producer}, ${attacker}`);
    await admin.query(`GRANT EXECUTE ON FUNCTION ${DOORS.join(', ')} TO ${producer}, ${attacker}`);
  });
  afterEach(() => sockets.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await Promise.all(opened.map((c) => c.end().catch(() => undefined)));
    await admin?.end();
    await app?.close();
    // The database first: it holds the grants to the roles and the objects the attacker owns.
    await db?.drop();
    await onCluster(`DROP ROLE IF EXISTS ${producer}; DROP ROLE IF EXISTS ${stranger}; DROP ROLE IF EXISTS ${attacker}`);
  });

  it('lets a role with only EXECUTE call every door, and nothing else, and the users get the notifications live', async () => {
    const [alice, bob] = [await socket('priv-alice'), await socket('priv-bob')];
    await bob.request('topics:subscribe', { topic: 'priv-news' });
    const p = await connectAs(producer);
    await p.query('BEGIN');
    const calls: [string, unknown[]][] = [
      ['SELECT inbox_notify($1::text[], $2::jsonb) AS ids', [['priv-alice'], { type: 't', title: 'notify jsonb' }]],
      // An untyped parameter resolves to the text form.
      ['SELECT inbox_notify($1, $2) AS ids', [['priv-alice'], JSON.stringify({ type: 't', title: 'notify text', tags: ['a'] })]],
      ['SELECT inbox_broadcast($1::jsonb) AS ids', [{ type: 't', title: 'broadcast jsonb' }]],
      [
        'SELECT inbox_broadcast($1) AS ids',
        [JSON.stringify({ type: 't', title: 'broadcast text', actions: [{ label: 'Go', url: '/go' }] })],
      ],
      ['SELECT inbox_publish($1, $2::jsonb) AS ids', ['priv-news', { type: 't', title: 'publish jsonb' }]],
      [
        'SELECT inbox_publish($1, $2) AS ids',
        ['priv-news', JSON.stringify({ type: 't', title: 'publish text', actor: { avatarUrl: '/a.png' } })],
      ],
    ];
    const ids: string[] = [];
    for (const [text, values] of calls) ids.push(...(await p.query(text, values)).rows[0].ids);
    // The shared rows are numbered at COMMIT, as the producer: that trigger runs as the owner too.
    await p.query('COMMIT');
    expect(ids).toHaveLength(6);
    for (const title of ['notify jsonb', 'notify text', 'broadcast jsonb', 'broadcast text']) await alice.waitForTitle(title);
    for (const title of ['broadcast jsonb', 'broadcast text', 'publish jsonb', 'publish text']) await bob.waitForTitle(title);
    expect(await bob.waitForTitle('broadcast text')).toMatchObject({ actions: [{ label: 'Go', url: '/go' }] });
    expect(await bob.waitForTitle('publish text')).toMatchObject({ topic: 'priv-news', actor: { avatarUrl: '/a.png' } });
    expect(await count(`id = ANY ('{${ids.join(',')}}') AND (user_id IS NOT NULL OR seq IS NOT NULL)`)).toBe(6);

    // And that is all it can do: no table, no internal function.
    const refused = [
      `INSERT INTO inbox_notification (user_id, type, url, tx_id, tx_horizon) VALUES ('priv-alice', 't', 'javascript:alert(1)', 1, 1)`,
      `UPDATE inbox_notification SET url = 'javascript:alert(1)'`,
      `SELECT count(*) FROM inbox_notification`,
      `UPDATE inbox_stream SET seq = 0`,
      `SELECT inbox_store('inbox_notify', ARRAY['priv-alice'], NULL, '{"type": "t"}'::jsonb)`,
      `SELECT inbox_group(ARRAY[1]::bigint[])`,
      `SELECT inbox_group_lock(ARRAY['priv-alice'], '', 'k')`,
    ];
    for (const sql of refused) {
      const e = await failure(p.query(sql));
      expect([sql, e.code, e.message]).toEqual([sql, '42501', expect.stringMatching(/^permission denied for (table|function) inbox_/)]);
    }
  });

  it('groups through the doors for a role with only EXECUTE: the locks and the grouping run as the owner', async () => {
    const p = await connectAs(producer);
    const notify = async (title: string) =>
      (await p.query('SELECT inbox_notify($1::text[], $2::jsonb) AS ids', [['priv-group'], { type: 't', title, group: 'k' }])).rows[0]
        .ids[0];
    const first = await notify('one');
    const second = await notify('two');
    const page = await app.service.list('priv-group');
    // (Beside the broadcasts of the tests before.)
    expect(page.items.filter((n) => n.group).map((n) => [n.id, n.group?.count, n.replaces])).toEqual([[second, 2, first]]);
  });

  it('refuses a role without the grant', async () => {
    const s = await connectAs(stranger);
    for (const sql of [
      `SELECT inbox_notify(ARRAY['x'], '{"type": "t"}'::jsonb)`,
      `SELECT inbox_broadcast('{"type": "t"}')`,
      `SELECT inbox_publish('n', '{"type": "t"}')`,
    ]) {
      const e = await failure(s.query(sql));
      expect([e.code, e.message]).toEqual([
        '42501',
        expect.stringMatching(/^permission denied for function inbox_(notify|broadcast|publish)$/),
      ]);
    }
  });

  it('runs nothing a caller planted in a schema of its search_path, even in the inbox schema', async () => {
    // What Postgres 14 and older grant every role on public by default.
    await admin.query(`CREATE SCHEMA evil AUTHORIZATION ${attacker}; GRANT CREATE ON SCHEMA public TO ${attacker}`);
    const x = await connectAs(attacker);
    // Whatever runs the planted code leaves a mark: a row, and a sequence a rollback does not undo.
    await x.query(`
      CREATE TABLE evil.ran (what text, as_role text);
      CREATE SEQUENCE evil.ran_seq;
      GRANT USAGE ON SCHEMA evil TO PUBLIC;
      GRANT INSERT ON evil.ran TO PUBLIC;
      GRANT USAGE ON SEQUENCE evil.ran_seq TO PUBLIC;
      CREATE FUNCTION evil.mark(what text) RETURNS void LANGUAGE sql AS $$
        SELECT nextval('evil.ran_seq');
        INSERT INTO evil.ran VALUES (what, current_user);
      $$;
      CREATE FUNCTION evil.cat(a text, b integer) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN PERFORM evil.mark('||(text, integer)'); RETURN a OPERATOR(pg_catalog.||) b::text; END $$;
      CREATE OPERATOR evil.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = evil.cat);
      CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = integer, FUNCTION = evil.cat);
      CREATE FUNCTION evil.has(a jsonb, b jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
        BEGIN PERFORM evil.mark('?(jsonb, jsonb)'); RETURN a OPERATOR(pg_catalog.?) (b #>> '{}'); END $$;
      CREATE OPERATOR public.? (LEFTARG = jsonb, RIGHTARG = jsonb, FUNCTION = evil.has);
      CREATE FUNCTION evil.jsonb_typeof(j jsonb) RETURNS text LANGUAGE plpgsql AS $$
        BEGIN PERFORM evil.mark('jsonb_typeof'); RETURN pg_catalog.jsonb_typeof(j); END $$;
      CREATE FUNCTION evil.pg_notify(channel text, payload text) RETURNS void LANGUAGE plpgsql AS $$
        BEGIN PERFORM evil.mark('pg_notify'); PERFORM pg_catalog.pg_notify(channel, payload); END $$;
      CREATE FUNCTION evil.inbox_store(fn text, recipients text[], stream_topic text, n jsonb) RETURNS bigint[] LANGUAGE plpgsql AS $$
        BEGIN PERFORM evil.mark('inbox_store'); RETURN '{}'; END $$;
    `);
    // A temporary table comes first for a table name unless the path says otherwise: the
    // commit-time trigger numbering broadcasts would have counted in it.
    await x.query(`CREATE TEMP TABLE inbox_stream (stream varchar(255) PRIMARY KEY, seq bigint NOT NULL DEFAULT 0)`);
    const before = await count('true');
    await x.query(`SET search_path = evil, public, pg_catalog`);
    await x.query('BEGIN');
    const stored = [
      ...(
        await x.query(
          `SELECT inbox_notify(ARRAY['priv-carol'], '{"type": "t", "title": "planted 1", "actions": [{"label": "a", "url": "/a"}]}'::jsonb) AS ids`,
        )
      ).rows[0].ids,
      ...(await x.query(`SELECT inbox_notify(ARRAY['priv-carol'], '{"type": "t", "title": "planted 2", "tags": ["x"]}') AS ids`)).rows[0]
        .ids,
      ...(await x.query(`SELECT inbox_broadcast('{"type": "t", "title": "planted 3"}') AS ids`)).rows[0].ids,
      ...(await x.query(`SELECT inbox_publish('priv-news', '{"type": "t", "title": "planted 4"}'::jsonb) AS ids`)).rows[0].ids,
    ];
    await x.query('COMMIT');
    expect(stored).toHaveLength(4);
    // Bad input takes the paths that build messages from integers (recipients[2], the sizes).
    const errors = [
      await failure(x.query(`SELECT inbox_notify(ARRAY['ok', ' padded'], '{"type": "t"}')`)),
      await failure(x.query(`SELECT inbox_notify(ARRAY['ok'], $1)`, [JSON.stringify({ type: 't', body: 'x'.repeat(20_000) })])),
      await failure(x.query(`SELECT inbox_notify(ARRAY['ok'], '{"type": "t", "actions": [{"label": "a"}]}'::jsonb)`)),
    ];
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      ['22023', expect.stringContaining('inbox_notify: recipients[2]: must be a user id')],
      ['22023', expect.stringMatching(/take \d+ bytes, at most 16384/)],
      ['22023', 'inbox_notify: notification.actions[0]: needs a url, an event or both'],
    ]);
    // Settings that change how a function's body is read or a date parsed are the caller's too.
    await x.query(`SET standard_conforming_strings = off; SET DateStyle = 'SQL, DMY'; SET TimeZone = 'Pacific/Kiritimati'`);
    const settings = [
      await failure(x.query(`SELECT inbox_notify(ARRAY['ok'], $1)`, [JSON.stringify({ type: 't', url: '/\t/evil.example' })])),
      await failure(x.query(`SELECT inbox_notify(ARRAY['ok'], $1)`, [JSON.stringify({ type: 't', title: '\ud800' })])),
      await failure(x.query(`SELECT inbox_notify(ARRAY['ok'], $1)`, [JSON.stringify({ type: 't', expiresAt: '01/02/2099 00:00' })])),
    ];
    expect(settings.map((e) => [e.code, e.message])).toEqual([
      ['22023', 'inbox_notify: notification.url: must not contain control characters'],
      ['22023', expect.stringMatching(/^inbox_notify: notification\.title: must not contain/)],
      ['22023', expect.stringMatching(/^inbox_notify: notification\.expiresAt: not a date-time with an offset/)],
    ]);
    expect((await x.query(`SELECT count(*)::int AS n FROM pg_temp.inbox_stream`)).rows).toEqual([{ n: 0 }]);
    const carol = await socket('priv-carol');
    expect((await carol.waitForTitle('planted 1')).actions).toEqual([{ label: 'a', url: '/a' }]);
    await carol.waitForTitle('planted 2');
    await carol.waitForTitle('planted 3');
    expect((await admin.query(`SELECT * FROM evil.ran`)).rows).toEqual([]);
    expect((await admin.query(`SELECT is_called FROM evil.ran_seq`)).rows).toEqual([{ is_called: false }]);
    expect(await count('true')).toBe(before + 4);
  });

  it('pins the search_path of every inbox function, and runs the doors as their owner', async () => {
    const { rows } = await admin.query(`
      SELECT p.oid::regprocedure::text AS fn, p.prosecdef AS definer, p.proconfig AS config,
             has_function_privilege('public', p.oid, 'EXECUTE') AS public
        FROM pg_proc p WHERE p.proname LIKE 'inbox\\_%' AND p.pronamespace = 'public'::regnamespace ORDER BY 1`);
    // The CHECK constraints' functions (InboxSqlPrivileges, InboxLinkCheckFunctions).
    const pure = ['inbox_actions_safe(jsonb)', 'inbox_actor_safe(jsonb)', 'inbox_url_problem(text)'];
    // Their jsonpath literals are parsed when a session plans them: the setting is pinned too.
    const literals = ['inbox_actions_safe(jsonb)', 'inbox_actor_safe(jsonb)'];
    const internal = [
      'inbox_actions_problem(jsonb)',
      'inbox_actor_problem(jsonb)',
      'inbox_group(bigint[])',
      'inbox_group_lock(text[],text,text)',
      'inbox_parse_notification(text,text)',
      'inbox_store(text,text[],text,jsonb)',
      'inbox_unstorable_path(jsonb,text)',
    ];
    const triggers = [
      'inbox_assign_seq()',
      'inbox_cancel_direct_sends()',
      'inbox_cancel_new_receipt_sends()',
      'inbox_cancel_receipt_sends()',
      'inbox_tag_rows()',
    ];
    // The engagement rates (InboxEngagement, InboxDeliveryRecord): read only, as the caller, granted by the host.
    const reports = [
      'inbox_channel_engagement(timestamp with time zone,timestamp with time zone)',
      'inbox_engagement(timestamp with time zone,timestamp with time zone)',
      'inbox_first_id_at(timestamp with time zone)',
    ];
    const doors = DOORS.map((d) => d.replace(/, /g, ','));
    expect(rows.map((r) => r.fn).sort()).toEqual([...pure, ...internal, ...triggers, ...reports, ...doors].sort());
    // The rates' plans would be compiled by JIT for longer than they run (InboxDeliveryRecord).
    const withoutJit = reports.filter((fn) => fn.includes('engagement'));
    for (const r of rows) {
      expect(r).toMatchObject({
        config: [
          'search_path=pg_catalog, pg_temp',
          ...(withoutJit.includes(r.fn) ? ['jit=off'] : []),
          ...(literals.includes(r.fn) ? ['standard_conforming_strings=on'] : []),
        ],
        definer: doors.includes(r.fn) || triggers.includes(r.fn),
        // A CHECK constraint runs these as the inserting role.
        public: pure.includes(r.fn),
      });
    }
  });

  it('rejects a row written around the functions with an unsafe url, action or avatar', async () => {
    const insert = (v: { url?: string; actions?: unknown; actor?: unknown }) =>
      admin.query(
        `INSERT INTO inbox_notification (user_id, type, tx_id, tx_horizon, url, actions, actor) VALUES ('priv-dave', 't', 1, 1, $1, $2, $3)`,
        [v.url ?? null, v.actions === undefined ? null : JSON.stringify(v.actions), v.actor === undefined ? null : JSON.stringify(v.actor)],
      );
    const unsafe: [object, string][] = [
      [{ url: 'javascript:alert(1)' }, 'inbox_notification_url_check'],
      [{ url: '//evil.example' }, 'inbox_notification_url_check'],
      [{ actions: [{ label: 'Pay', url: 'javascript:alert(1)' }] }, 'inbox_notification_actions_check'],
      [
        {
          actions: [
            { label: 'ok', url: '/ok' },
            { label: 'Pay', url: '/\\evil.example' },
          ],
        },
        'inbox_notification_actions_check',
      ],
      [{ actions: [{ label: 'Pay', url: 'https://shop.example/\u0085' }] }, 'inbox_notification_actions_check'],
      [{ actions: [{ label: 'Pay', url: ['/a'] }] }, 'inbox_notification_actions_check'],
      [{ actions: ['/a'] }, 'inbox_notification_actions_check'],
      [{ actions: { label: 'not an array' } }, 'inbox_notification_actions_check'],
      [{ actions: [1, 2, 3, 4].map((i) => ({ label: `a${i}`, event: 'e' })) }, 'inbox_notification_actions_check'],
      [{ actor: { name: 'x', avatarUrl: 'data:image/svg+xml,<svg onload=alert(1)>' } }, 'inbox_notification_actor_check'],
      [{ actor: { avatarUrl: 'JAVASCRIPT:alert(1)' } }, 'inbox_notification_actor_check'],
      [{ actor: 'Mallory' }, 'inbox_notification_actor_check'],
    ];
    for (const [columns, constraint] of unsafe) {
      const e = await failure(insert(columns));
      expect([e.code, e.constraint]).toEqual(['23514', constraint]);
    }
    // The actions' and actor's checks are functions, planned by the session that first calls
    // them: one that reads backslashes as escapes still gets their control-character rule.
    const escapes = new Client({ connectionString: db.url });
    await escapes.connect();
    try {
      await escapes.query(`SET standard_conforming_strings = off`);
      const e = await failure(
        escapes.query(
          `INSERT INTO inbox_notification (user_id, type, tx_id, tx_horizon, actions, actor) VALUES ('priv-dave', 't', 1, 1, $1, $2)`,
          [JSON.stringify([{ label: 'Pay', url: 'https://shop.example/\u0085' }]), JSON.stringify({ avatarUrl: '/a.png' })],
        ),
      );
      expect([e.code, e.constraint]).toEqual(['23514', 'inbox_notification_actions_check']);
    } finally {
      await escapes.end();
    }
    // What the door lets through, the constraints let through.
    await insert({
      url: 'https://shop.example/x',
      actions: [
        { label: 'Open', url: '/x' },
        { label: 'Ok', event: 'ok' },
      ],
      actor: { avatarUrl: '/a.png' },
    });
    await insert({
      url: 'HTTP://shop.example',
      actions: [{ label: 'Open', url: 'https://shop.example?q=/\u00e9' }],
      actor: { name: 'No avatar' },
    });
    expect(await count(`user_id = 'priv-dave'`)).toBe(2);
  });

  it('never lets a caller raise inbox.max_payload_bytes above the database setting', async () => {
    const p = await connectAs(producer);
    const notify = (bytes: number) =>
      p.query(`SELECT inbox_notify(ARRAY['priv-erin'], $1::jsonb)`, [{ type: 't', body: 'x'.repeat(bytes) }]);
    await p.query(`SET inbox.max_payload_bytes = 1000000`);
    expect((await failure(notify(20_000))).message).toMatch(/take 20\d\d\d bytes, at most 16384 \(inbox\.max_payload_bytes\)/);
    await p.query(`SET inbox.max_payload_bytes = 100`);
    expect((await failure(notify(200))).message).toMatch(/take 2\d\d bytes, at most 100 /);
    await p.query(`SET inbox.max_payload_bytes = 'lots'`);
    expect(await failure(notify(10))).toMatchObject({
      code: '22023',
      message: 'inbox_notify: inbox.max_payload_bytes: must be a positive integer, got lots',
    });
    // The database's owner raises it; the caller's SET still cannot go past that.
    await admin.query(`ALTER DATABASE ${db.name} SET inbox.max_payload_bytes = 32768`);
    try {
      await p.query(`SET inbox.max_payload_bytes = 1000000`);
      expect((await notify(20_000)).rows[0].inbox_notify).toHaveLength(1);
      expect((await failure(notify(40_000))).message).toMatch(/at most 32768 /);
    } finally {
      await admin.query(`ALTER DATABASE ${db.name} RESET inbox.max_payload_bytes`);
    }
  });

  it('refuses text Postgres cannot store with 22023 naming the field, and stores nothing', async () => {
    const p = await connectAs(producer);
    const before = await count('true');
    // As a driver sends JSON: JSON.stringify writes a lone surrogate as a \u escape.
    const cases: [string, unknown[], string][] = [
      [
        'SELECT inbox_notify($1, $2)',
        [['u'], JSON.stringify({ type: 't', title: 'lone \ud800 high' })],
        'inbox_notify: notification.title',
      ],
      ['SELECT inbox_notify($1, $2)', [['u'], JSON.stringify({ type: 't', body: 'lone low \udc00' })], 'inbox_notify: notification.body'],
      [
        'SELECT inbox_notify($1, $2)',
        [['u'], JSON.stringify({ type: 't', data: { list: ['fine', 'nul \u0000 here'] } })],
        'inbox_notify: notification.data.list[1]',
      ],
      [
        'SELECT inbox_notify($1, $2)',
        [['u'], JSON.stringify({ type: 't', data: { ['key \ud800']: 1 } })],
        'inbox_notify: notification.data.key \\ud800',
      ],
      // An escaped pair is text Postgres stores: only the lone one is named.
      [
        'SELECT inbox_notify($1, $2)',
        [['u'], String.raw`{"type": "t", "body": "\ud83d\ude00", "title": "\ud800"}`],
        'inbox_notify: notification.title',
      ],
      [
        'SELECT inbox_broadcast($1)',
        [JSON.stringify({ type: 't', actions: [{ label: 'go \udfff', event: 'go' }] })],
        'inbox_broadcast: notification.actions[0].label',
      ],
      [
        'SELECT inbox_publish($1, $2)',
        ['news', JSON.stringify({ type: 'reversed \udc00\ud800 pair' })],
        'inbox_publish: notification.type',
      ],
    ];
    for (const [sql, values, field] of cases) {
      const e = await failure(p.query(sql, values));
      expect([e.code, e.message]).toEqual([
        '22023',
        `${field}: must not contain \\u0000 or a lone UTF-16 surrogate (Postgres cannot store them)`,
      ]);
    }
    const notJson = await failure(p.query(`SELECT inbox_notify(ARRAY['u'], '{"type": ')`));
    expect([notJson.code, notJson.message]).toEqual([
      '22023',
      expect.stringMatching(/^inbox_notify: notification: not JSON: invalid input syntax for type json/),
    ]);
    expect(await count('true')).toBe(before);
    // What Postgres can store passes: a surrogate pair, and a backslash before a u as text.
    const title = 'pair \ud83d\ude00, text \\u0000 and \\\\ud800';
    const [id] = (await p.query(`SELECT inbox_notify($1, $2) AS ids`, [['priv-frank'], JSON.stringify({ type: 't', title })])).rows[0].ids;
    expect((await admin.query(`SELECT title FROM inbox_notification WHERE id = $1`, [id])).rows[0].title).toBe(title);
  });
});

describe('SQL privileges migration', () => {
  /** Undoes the migrations from the last down to InboxSqlPrivileges, included (those after it first). */
  it("installs in the schema the tables are in, and the doors work whatever the caller's search_path", async () => {
    const db = await createDatabase();
    const admin = new Client({ connectionString: db.url });
    await admin.connect();
    const role = `inbox_schema_producer_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
    // A host whose DataSource works in a schema of its own (a name that needs quoting).
    const host = new DataSource({
      type: 'postgres',
      url: db.url,
      extra: { options: String.raw`-c search_path="Inbox\ App"` },
      migrations: [...NOTIFICATIONS_MIGRATIONS],
    });
    try {
      await admin.query(`CREATE SCHEMA "Inbox App"`);
      await host.initialize();
      await host.runMigrations();
      const { rows } = await admin.query(`
        SELECT DISTINCT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE p.proname LIKE 'inbox\\_%'`);
      expect(rows).toEqual([{ nspname: 'Inbox App' }]);
      await onCluster(`CREATE ROLE ${role} LOGIN`);
      await admin.query(`GRANT USAGE ON SCHEMA "Inbox App" TO ${role}`);
      await admin.query(`GRANT EXECUTE ON FUNCTION ${DOORS.map((d) => `"Inbox App".${d}`).join(', ')} TO ${role}`);
      const p = new Client({ connectionString: urlAs(db.url, role) });
      await p.connect();
      try {
        await p.query('BEGIN');
        await p.query(`SELECT "Inbox App".inbox_notify(ARRAY['x'], '{"type": "t", "title": "in a schema", "tags": ["a"]}')`);
        await p.query(`SELECT "Inbox App".inbox_broadcast('{"type": "t", "title": "to all in a schema"}'::jsonb)`);
        await p.query('COMMIT');
      } finally {
        await p.end();
      }
      expect((await admin.query(`SELECT title, seq, tags FROM "Inbox App".inbox_notification ORDER BY id`)).rows).toEqual([
        { title: 'in a schema', seq: null, tags: ['a'] },
        { title: 'to all in a schema', seq: '1', tags: [] },
      ]);
      expect((await admin.query(`SELECT tag FROM "Inbox App".inbox_notification_tag`)).rows).toEqual([{ tag: 'a' }]);
      await undoThrough(host, 'InboxSqlPrivileges1764374400000');
      expect((await admin.query(`SELECT count(*)::int AS n FROM pg_proc WHERE proname = 'inbox_notify'`)).rows).toEqual([{ n: 1 }]);
    } finally {
      if (host.isInitialized) await host.destroy();
      await admin.end();
      await db.drop();
      await onCluster(`DROP ROLE IF EXISTS ${role}`);
    }
  });

  it('upgrades an install in place: the rows stay, the unsafe links written around the functions go, and back down', async () => {
    const db = await createDatabase();
    const at = NOTIFICATIONS_MIGRATIONS.findIndex((m) => m.name === 'InboxSqlPrivileges1764374400000');
    expect(at).toBeGreaterThan(0);
    const previous = new DataSource({ type: 'postgres', url: db.url, migrations: NOTIFICATIONS_MIGRATIONS.slice(0, at) });
    const current = new DataSource({ type: 'postgres', url: db.url, migrations: [...NOTIFICATIONS_MIGRATIONS] });
    try {
      await previous.initialize();
      await previous.runMigrations();
      await previous.query(
        `SELECT inbox_notify(ARRAY['old-1', 'old-2'], '{"type": "t", "title": "direct", "url": "/d", "tags": ["a"]}'::jsonb)`,
      );
      await previous.query(
        `SELECT inbox_broadcast('{"type": "t", "title": "broadcast", "actions": [{"label": "Go", "event": "go"}]}'::jsonb)`,
      );
      await previous.query(
        `SELECT inbox_publish('news', '{"type": "t", "title": "published", "actor": {"name": "A", "avatarUrl": "/a.png"}}'::jsonb)`,
      );
      // Written around the functions, as the old privileges allowed.
      await previous.query(`
        INSERT INTO inbox_notification (user_id, type, title, url, actions, actor, tx_id, tx_horizon)
        VALUES ('old-1', 't', 'around', 'javascript:alert(1)', '[{"label": "x", "url": "javascript:alert(1)"}]',
                '{"name": "Mallory", "avatarUrl": "javascript:alert(1)"}', pg_current_xact_id()::text::bigint, 0)`);
      const rows = () => current.query(`SELECT title, user_id, topic, url, actions, actor, tags, seq FROM inbox_notification ORDER BY id`);
      const old = await previous.query(`SELECT title, user_id, topic, url, actions, actor, tags, seq FROM inbox_notification ORDER BY id`);
      await previous.destroy();

      await current.initialize();
      await current.runMigrations();
      expect(await rows()).toEqual(
        old.map((r: { title: string }) => (r.title === 'around' ? { ...r, url: null, actions: null, actor: null } : r)),
      );
      expect(
        (await current.query(`SELECT prosecdef FROM pg_proc WHERE proname = 'inbox_notify'`)).map(
          (r: { prosecdef: boolean }) => r.prosecdef,
        ),
      ).toEqual([true, true]);
      // The door works on the upgraded install, and a new row written around it is refused.
      expect(await current.query(`SELECT inbox_notify(ARRAY['old-1'], '{"type": "t", "title": "after"}') AS ids`)).toMatchObject([
        { ids: [expect.any(String)] },
      ]);
      await expect(current.query(`UPDATE inbox_notification SET url = 'javascript:alert(1)' WHERE title = 'direct'`)).rejects.toThrow(
        /inbox_notification_url_check/,
      );

      await undoThrough(current, 'InboxSqlPrivileges1764374400000');
      expect((await rows()).map((r: { title: string }) => r.title)).toEqual([
        'direct',
        'direct',
        'broadcast',
        'published',
        'around',
        'after',
      ]);
      const fns = await current.query(`
        SELECT proname, prosecdef, proconfig, has_function_privilege('public', oid, 'EXECUTE') AS public
          FROM pg_proc WHERE proname IN ('inbox_notify', 'inbox_store', 'inbox_assign_seq', 'inbox_url_problem') ORDER BY 1`);
      expect(fns).toEqual(
        ['inbox_assign_seq', 'inbox_notify', 'inbox_store', 'inbox_url_problem'].map((proname) => ({
          proname,
          prosecdef: false,
          proconfig: null,
          public: true,
        })),
      );
      await current.query(`SELECT inbox_publish('news', '{"type": "t", "title": "down again", "tags": ["b"]}'::jsonb)`);
      await current.query(`UPDATE inbox_notification SET url = 'javascript:alert(1)' WHERE title = 'direct'`);
    } finally {
      if (previous.isInitialized) await previous.destroy();
      if (current.isInitialized) await current.destroy();
      await db.drop();
    }
  });
});

/** Undoes the migrations that came after `name`, then `name` itself. */
async function undoThrough(ds: DataSource, name: string): Promise<void> {
  const after = NOTIFICATIONS_MIGRATIONS.length - NOTIFICATIONS_MIGRATIONS.findIndex((m) => m.name === name);
  for (let i = 0; i < after; i++) await ds.undoLastMigration({ transaction: 'all' });
}
