import { Body, Controller, Get, Post } from '@nestjs/common';
import { createHmac, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { NotificationsConfigError, type NotificationPayload, ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, startWorker, TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { RedisServer, until } from '../support/processes';
import { PHP, PRODUCERS_DIR, run } from '../support/producers';

/** The host's own routes, to show the door leaves them (and Nest's JSON body parser) alone. */
@Controller('host')
class HostController {
  @Get('ping')
  ping() {
    return { pong: true };
  }

  @Post('echo')
  echo(@Body() body: unknown) {
    return { got: body };
  }
}

const SECRET = randomBytes(32).toString('hex');
const MAX_BODY = 4096;
/** Small, so that the slow-body test is quick; every other request here sends its body at once. */
const BODY_TIMEOUT_MS = 1500;

/** `t=…,v1=…` for these exact bytes, as a producer computes it. */
function sign(body: string, secret = SECRET): string {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.${body}`).digest('hex')}`;
}

/**
 * A raw HTTP/1.1 exchange over a real socket: writes `head` (and whatever `send` writes), collects
 * what the server answers until it closes the connection. `closed` resolves with the answer.
 */
function rawRequest(url: string, head: string, send: (socket: Socket) => void = () => undefined) {
  const { hostname, port } = new URL(url);
  const socket = tcpConnect(Number(port), hostname);
  let answer = '';
  const started = Date.now();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (answer += chunk));
  socket.on('error', () => undefined); // a reset after the server closed: the answer is what counts
  const closed = new Promise<{ answer: string; ms: number }>((resolve) =>
    socket.on('close', () => resolve({ answer, ms: Date.now() - started })),
  );
  socket.on('connect', () => {
    socket.write(head);
    send(socket);
  });
  return { socket, closed, answer: () => answer };
}

/** The status and the JSON body of a raw HTTP answer. */
function parseAnswer(raw: string): { status: number; body: any; head: string } {
  const [head, body] = raw.split('\r\n\r\n');
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), body: body ? JSON.parse(body) : undefined, head };
}

/** POSTs `body` with the PHP producer (test/producers/notify.php), as a PHP site does. */
async function php(url: string, body: string | object, flags: string[] = [], secret = SECRET): Promise<{ status: number; body: any }> {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  const out = await run(PHP, [join(PRODUCERS_DIR, 'notify.php'), `${url}/inbox/notifications`, secret, ...flags], raw);
  return JSON.parse(out);
}

describe('HTTP door: a PHP producer signs and POSTs', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let redis: RedisServer;
  /** A gateway instance that also serves the door. */
  let a: TestApp;
  /** A producer-only process (`gateway: false`) serving the door, delivering through Redis to A's sockets. */
  let producer: TestApp;
  const clients: TestClient[] = [];
  const connect = async (user: string) => {
    const c = await TestClient.connect(a.url, user);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    [db, redis] = await Promise.all([createDatabase(), RedisServer.start()]);
    await migrate(db.url);
    const options = {
      http: { secret: SECRET, maxBodyBytes: MAX_BODY, bodyTimeoutMs: BODY_TIMEOUT_MS },
      redis: { url: redis.url },
      canSubscribe: () => true,
    };
    [a, producer] = await Promise.all([
      startApp(db.url, options, {}, { controllers: [HostController] }),
      startApp(db.url, options, { gateway: false }),
    ]);
    await until('both instances on Redis', () => [a, producer].every((t) => t.service.health().redis === 'up'));
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await Promise.all([a?.close(), producer?.close()]);
    await redis?.stop();
    await db?.drop();
  });

  it('stores and delivers live a notification to a user, answering 201 with its id', async () => {
    const tab = await connect('php-1');
    const from = tab.mark();
    const answer = await php(a.url, {
      to: 'php-1',
      notification: { type: 'order', title: 'Shipped', body: 'On its way', data: { orderId: 7 } },
    });
    expect(answer.status).toBe(201);
    expect(answer.body.ids).toHaveLength(1);
    const got = await tab.waitForTitle('Shipped', from);
    expect(got).toMatchObject({
      id: answer.body.ids[0],
      type: 'order',
      body: 'On its way',
      data: { orderId: 7 },
      topic: null,
      broadcast: false,
    });
    await tab.waitFor(ServerEvent.Unread, (p) => p.count === 1, { from });
  });

  it('takes url, actions, actor and tags, JSON-named, and delivers them', async () => {
    const tab = await connect('php-shown');
    const from = tab.mark();
    const shown = {
      url: '/orders/7',
      actions: [
        { label: 'Track', url: 'https://carrier.example/t/7' },
        { label: 'Received', event: 'order:received' },
      ],
      actor: { id: 'shop', name: 'The shop', avatarUrl: 'https://cdn.example/shop.png' },
      tags: ['orders'],
    };
    const answer = await php(a.url, { to: 'php-shown', notification: { type: 'order', title: 'Shown', ...shown } });
    expect(answer.status).toBe(201);
    expect(await tab.waitForTitle('Shown', from)).toMatchObject({ id: answer.body.ids[0], ...shown });
  });

  it('broadcasts, publishes to a topic, and notifies several users, with the same JSON', async () => {
    const [one, two] = [await connect('php-many-1'), await connect('php-many-2')];
    await a.service.subscribe('php-many-2', 'releases');
    const [m1, m2] = [one.mark(), two.mark()];
    const many = await php(a.url, { to: ['php-many-1', 'php-many-2'], notification: { type: 'm', title: 'to both' } });
    expect(many).toMatchObject({ status: 201, body: { ids: [expect.any(String), expect.any(String)] } });
    const all = await php(a.url, { broadcast: true, notification: { type: 'announcement', title: 'to everyone' } });
    const topic = await php(a.url, { topic: 'releases', notification: { type: 'release', title: 'v2 is out' } });
    expect([all.status, topic.status]).toEqual([201, 201]);
    for (const [tab, from] of [
      [one, m1],
      [two, m2],
    ] as const) {
      await tab.waitForTitle('to both', from);
      expect((await tab.waitForTitle('to everyone', from)).id).toBe(all.body.ids[0]);
    }
    expect((await two.waitForTitle('v2 is out', m2)).id).toBe(topic.body.ids[0]);
    // A barrier: had 'php-many-1' been sent the topic's notification, it would have come before this.
    await a.service.notify('php-many-1', { type: 'm', title: 'barrier' });
    await one.waitForTitle('barrier', m1);
    expect(one.notifications.map((n) => n.title)).not.toContain('v2 is out');
  });

  it('a producer-only process (gateway: false) serves the door; the user gets it through Redis on another instance', async () => {
    const tab = await connect('php-worker');
    const from = tab.mark();
    const answer = await php(producer.url, { to: 'php-worker', notification: { type: 'm', title: 'from the worker' } });
    expect(answer.status).toBe(201);
    expect((await tab.waitForTitle('from the worker', from)).id).toBe(answer.body.ids[0]);
  });

  it("takes notification.scope: a scoped notify, broadcast and publication reach that scope's inboxes only; a bad scope is 400 naming it", async () => {
    await a.service.subscribe('php-sc', 'php-sc-news', { scope: 'acme' });
    const sent = [
      await php(a.url, { to: 'php-sc', notification: { type: 'm', title: 'direct in acme', scope: 'acme' } }),
      await php(a.url, { broadcast: true, notification: { type: 'm', title: 'to acme', scope: 'acme' } }),
      await php(a.url, { topic: 'php-sc-news', notification: { type: 'm', title: 'news in acme', scope: 'acme' } }),
      await php(producer.url, { broadcast: true, notification: { type: 'm', title: 'to globex', scope: 'globex' } }),
    ];
    expect(sent.map((answer) => answer.status)).toEqual([201, 201, 201, 201]);
    const [direct, toAcme, news, toGlobex] = sent.map((answer) => answer.body.ids[0] as string);
    const inbox = async (scope?: string) =>
      (await a.service.list('php-sc', { limit: 100, scope })).items.filter((n) => [direct, toAcme, news, toGlobex].includes(n.id));
    expect((await inbox('acme')).map((n) => [n.id, n.scope])).toEqual([
      [news, 'acme'],
      [toAcme, 'acme'],
      [direct, 'acme'],
    ]);
    expect((await inbox('globex')).map((n) => n.id)).toEqual([toGlobex]);
    expect(await inbox()).toEqual([]);

    const rows = async () => Number((await a.dataSource.query(`SELECT count(*) AS n FROM inbox_notification`))[0].n);
    const before = await rows();
    for (const scope of ['', 'x'.repeat(201), 7, null]) {
      for (const message of [
        { to: 'php-sc', notification: { type: 'm', scope } },
        { broadcast: true, notification: { type: 'm', scope } },
        { topic: 'php-sc-news', notification: { type: 'm', scope } },
      ]) {
        const answer = await php(a.url, message);
        if (scope === null) {
          // null is unscoped, as absent.
          expect(answer.status).toBe(201);
          continue;
        }
        expect(answer.status, JSON.stringify(message)).toBe(400);
        expect(answer.body.message).toBe('message: notification.scope: must be a string of 1 to 200 characters');
      }
    }
    expect(await rows()).toBe(before + 3);
  });

  it('takes notification.group: grouped into one item as from the service; a bad group, or one on a broadcast or topic, is 400 naming it', async () => {
    const first = await php(a.url, { to: 'php-grp', notification: { type: 'c', title: 'one', group: 'post:1' } });
    const second = await php(a.url, { to: 'php-grp', notification: { type: 'c', title: 'two', group: 'post:1' } });
    expect([first.status, second.status]).toEqual([201, 201]);
    // (Beside the broadcasts of the tests before.)
    expect((await a.service.list('php-grp')).items.filter((n) => n.group).map((n) => [n.id, n.group?.count, n.replaces])).toEqual([
      [second.body.ids[0], 2, first.body.ids[0]],
    ]);
    const rows = async () => Number((await a.dataSource.query(`SELECT count(*) AS n FROM inbox_notification`))[0].n);
    const before = await rows();
    for (const group of ['', 'x'.repeat(201), 7]) {
      const answer = await php(a.url, { to: 'php-grp', notification: { type: 'c', group } });
      expect(answer.status).toBe(400);
      expect(answer.body.message).toBe('message: notification.group: must be a string of 1 to 200 characters');
    }
    for (const message of [
      { broadcast: true, notification: { type: 'c', group: 'k' } },
      { topic: 'php-grp-news', notification: { type: 'c', group: 'k' } },
    ]) {
      const answer = await php(a.url, message);
      expect(answer.status).toBe(400);
      expect(answer.body.message).toMatch(/notification: group: groups apply to notifications to users/);
    }
    expect(await rows()).toBe(before);
  });

  it('stores a repeated dedupeKey once: the second POST answers 201 with no ids and delivers nothing', async () => {
    const tab = await connect('php-dedupe');
    const message = { to: 'php-dedupe', notification: { type: 'm', title: 'once', dedupeKey: 'invoice-42' } };
    const [first, second] = [await php(a.url, message), await php(a.url, message)];
    expect(first).toMatchObject({ status: 201, body: { ids: [expect.any(String)] } });
    expect(second).toEqual({ status: 201, body: { ids: [] } });
    await a.service.notify('php-dedupe', { type: 'm', title: 'barrier' });
    await tab.waitForTitle('barrier');
    // (the broadcast of an earlier test is this user's too)
    expect(tab.notifications.filter((n) => !n.broadcast).map((n) => n.title)).toEqual(['once', 'barrier']);
  });

  it('refuses bad signatures, stale ones, bad bodies, oversize and non-JSON requests, storing nothing', async () => {
    const tab = await connect('php-refused');
    const from = tab.mark();
    const good = { to: 'php-refused', notification: { type: 'm', title: 'refused' } };
    const cases: [string, () => Promise<{ status: number; body: any }>, number, RegExp][] = [
      ['no signature', () => php(a.url, good, ['--no-signature']), 401, /^signature: no X-Inbox-Signature header/],
      ['another secret', () => php(a.url, good, [], 'x'.repeat(64)), 401, /^signature: does not match the body/],
      ['a signature 6 minutes old', () => php(a.url, good, ['--t-offset=-360']), 401, /^signature: stale: t is 36\d s away/],
      ['a signature 6 minutes ahead', () => php(a.url, good, ['--t-offset=360']), 401, /^signature: stale/],
      ['invalid JSON', () => php(a.url, '{"to": "php-refused",'), 400, /^body: not valid JSON/],
      [
        'an empty type',
        () => php(a.url, { to: 'php-refused', notification: { type: '' } }),
        400,
        /notification\.type: must be a non-empty string/,
      ],
      ['no audience', () => php(a.url, { notification: { type: 'm' } }), 400, /exactly one of `to`, `broadcast: true` or `topic`/],
      [
        'an unknown field',
        () => php(a.url, { to: 'php-refused', notification: { type: 'm', title: 'refused', colour: 1 } }),
        400,
        /colour/,
      ],
      [
        'a javascript: url',
        () => php(a.url, { to: 'php-refused', notification: { type: 'm', title: 'refused', url: 'javascript:alert(1)' } }),
        400,
        /^message: notification\.url: must be an http\(s\) URL or a site-relative path starting with a single \/$/,
      ],
      [
        'an action without label',
        () => php(a.url, { to: 'php-refused', notification: { type: 'm', title: 'refused', actions: [{ url: '/x' }] } }),
        400,
        /^message: notification\.actions\.0\.label: /,
      ],
      [
        'an actor with a data: avatar',
        () =>
          php(a.url, {
            to: 'php-refused',
            notification: { type: 'm', title: 'refused', actor: { avatarUrl: 'data:image/png;base64,AAAA' } },
          }),
        400,
        /^message: notification\.actor\.avatarUrl: must be an http\(s\) URL/,
      ],
      [
        'too many tags',
        () =>
          php(a.url, {
            to: 'php-refused',
            notification: { type: 'm', title: 'refused', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
          }),
        400,
        /^message: notification\.tags: must have at most 10 tags$/,
      ],
      [
        'a body over maxBodyBytes',
        () => php(a.url, { to: 'php-refused', notification: { type: 'm', title: 'refused', body: 'x'.repeat(MAX_BODY) } }),
        413,
        /^body: larger than 4096 bytes/,
      ],
      ['a text/plain body', () => php(a.url, good, ['--content-type=text/plain']), 415, /^content-type: must be application\/json/],
    ];
    for (const [name, request, status, message] of cases) {
      const answer = await request();
      expect(answer.status, name).toBe(status);
      expect(answer.body.message, name).toMatch(message);
      expect(answer.body.statusCode, name).toBe(status);
    }
    // Nothing stored: the user's own inbox is empty (the broadcast of an earlier test aside), and
    // a later notification is the first the socket gets.
    expect((await a.service.list('php-refused')).items.filter((n) => !n.broadcast)).toEqual([]);
    await a.service.notify('php-refused', { type: 'm', title: 'barrier' });
    await tab.waitForTitle('barrier', from);
    expect(
      tab.log
        .slice(from)
        .filter((e) => e.event === ServerEvent.Notification)
        .map((e) => (e.payload as NotificationPayload).title),
    ).toEqual(['barrier']);
  });

  it('refuses a chunked body (no Content-Length) once it passes maxBodyBytes, with a valid signature', async () => {
    const body = JSON.stringify({ to: 'php-chunked', notification: { type: 'm', body: 'x'.repeat(MAX_BODY) } });
    const t = Math.floor(Date.now() / 1000);
    const signature = `t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`;
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${a.url}/inbox/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-inbox-signature': signature, 'transfer-encoding': 'chunked' },
      });
      req.on('response', (res) => (res.resume(), resolve(res.statusCode!)));
      req.on('error', reject);
      req.write(body.slice(0, 1000));
      req.end(body.slice(1000));
    });
    expect(status).toBe(413);
    expect((await a.service.list('php-chunked')).items.filter((n) => !n.broadcast)).toEqual([]);
  });

  it('answers 400 naming the field for text Postgres cannot store (a lone UTF-16 surrogate), not 503 "retry later"', async () => {
    // The producer's bytes: JSON escapes of lone surrogates, valid JSON that Postgres' jsonb refuses.
    const cases: [string, RegExp][] = [
      [
        '{"to": "php-lone", "notification": {"type": "m", "title": "a\\ud800"}}',
        /^message: notification\.title: must not contain a lone UTF-16 surrogate/,
      ],
      [
        '{"to": "php-\\ud800", "notification": {"type": "m", "title": "lone"}}',
        /^message: to\.0: must not contain a lone UTF-16 surrogate/,
      ],
      [
        '{"to": "php-lone", "notification": {"type": "m", "data": {"list": [{"\\udfff": 1}]}}}',
        /^notification: data\.list\.0: key "\\udfff": must not contain a lone UTF-16 surrogate/,
      ],
      [
        '{"to": "php-lone", "notification": {"type": "m", "data": {"k": "\\u0000"}}}',
        /^notification: data\.k: must not contain NUL characters/,
      ],
    ];
    const post = (body: string) =>
      fetch(`${a.url}/inbox/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-inbox-signature': sign(body) },
        body,
      });
    for (const [body, message] of cases) {
      const answer = await post(body);
      expect(answer.status, body).toBe(400);
      expect(await answer.json(), body).toMatchObject({ statusCode: 400, code: 'INVALID_INPUT', message: expect.stringMatching(message) });
    }
    // A well-formed pair (an emoji) is text like any other.
    expect((await post('{"to": "php-lone", "notification": {"type": "m", "title": "\\ud83d\\ude00"}}')).status).toBe(201);
    expect((await a.service.list('php-lone')).items.filter((n) => !n.broadcast).map((n) => n.title)).toEqual(['\u{1F600}']);
  });

  it('answers 500, not 503 "retry later", when the database refuses the rows for a reason a retry does not change', async () => {
    // A host's own rule on the table, which Postgres enforces the same way on every try.
    await a.dataSource.query(
      `ALTER TABLE inbox_notification ADD CONSTRAINT host_rule CHECK (title IS DISTINCT FROM 'refused by the host')`,
    );
    try {
      const body = JSON.stringify({ to: 'php-rule', notification: { type: 'm', title: 'refused by the host' } });
      const answer = await fetch(`${a.url}/inbox/notifications`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-inbox-signature': sign(body) },
        body,
      });
      expect(answer.status).toBe(500);
      expect(await answer.json()).toEqual({
        statusCode: 500,
        code: 'INTERNAL',
        message: expect.stringMatching(/^not stored: the database refused it \(SQLSTATE 23514: .*"host_rule"\)$/),
      });
    } finally {
      await a.dataSource.query(`ALTER TABLE inbox_notification DROP CONSTRAINT host_rule`);
    }
  });

  it('refuses an unsigned request with a 1 MiB body 401 before reading a byte of it, and closes the connection', async () => {
    for (const length of ['content-length: 1048576', 'transfer-encoding: chunked']) {
      // Only the head is sent: the answer cannot have waited for the body.
      const exchange = rawRequest(
        a.url,
        `POST /inbox/notifications HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n${length}\r\n\r\n`,
      );
      const { answer } = await exchange.closed;
      const { status, body, head } = parseAnswer(answer);
      expect(status, length).toBe(401);
      expect(body.message, length).toMatch(/^signature: no X-Inbox-Signature header/);
      expect(head.toLowerCase(), length).toContain('connection: close');
    }
  });

  it(`answers 408 to a body trickled slower than http.bodyTimeoutMs (${BODY_TIMEOUT_MS} ms), closes the connection, stores nothing`, async () => {
    const body = JSON.stringify({ to: 'php-slow', notification: { type: 'm', title: 'slow' } });
    let trickle: NodeJS.Timeout | undefined;
    let sent = 0;
    const exchange = rawRequest(
      a.url,
      `POST /inbox/notifications HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
        `x-inbox-signature: ${sign(body)}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n`,
      (socket) => {
        // One byte every 100 ms: it would take about 7 s, the server waits 1.5 s.
        trickle = setInterval(() => {
          if (sent < body.length && !socket.destroyed) socket.write(body[sent++]);
        }, 100);
      },
    );
    try {
      const { answer, ms } = await exchange.closed;
      const { status, body: refusal } = parseAnswer(answer);
      expect(status).toBe(408);
      expect(refusal).toEqual({
        statusCode: 408,
        code: 'INVALID_INPUT',
        message: `body: not received within ${BODY_TIMEOUT_MS} ms (http.bodyTimeoutMs)`,
      });
      expect(sent).toBeLessThan(body.length);
      expect(ms).toBeLessThan(BODY_TIMEOUT_MS + 2000);
    } finally {
      clearInterval(trickle);
    }
    expect((await a.service.list('php-slow')).items.filter((n) => !n.broadcast)).toEqual([]);
  });

  it("leaves the host's other routes to Nest, its JSON body parser included", async () => {
    const ping = await fetch(`${a.url}/host/ping`);
    expect(await ping.json()).toEqual({ pong: true });
    const echo = await fetch(`${a.url}/host/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    expect(await echo.json()).toEqual({ got: { a: 1 } });
    const get = await fetch(`${a.url}/inbox/notifications`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('needs an HTTP server: a producer-only application context with `http` fails at boot', async () => {
    await expect(startWorker(db.url, { http: { secret: SECRET } })).rejects.toThrow(NotificationsConfigError);
    await expect(startWorker(db.url, { http: { secret: SECRET } })).rejects.toThrow(/createApplicationContext/);
  });

  it('checks the secret at boot', async () => {
    await expect(startApp(db.url, { http: { secret: 'too short' } })).rejects.toThrow(
      /http\.secret must be a string of at least 32 characters/,
    );
  });
});
