import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpSession, type SessionSource } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/**
 * The other backend that owns the login: `sid=good-<user>` is a session; other values choose
 * an answer. It records the Cookie header of every request.
 */
function startAuthBackend(): Promise<{ url: string; seen: string[]; close: () => Promise<void>; server: Server }> {
  const seen: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const cookie = req.headers.cookie ?? '';
    seen.push(cookie);
    const sid = /(?:^|; )sid=([^;]*)/.exec(cookie)?.[1] ?? '';
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (sid.startsWith('good-')) return json(200, { user: { id: sid.slice(5) } });
    if (sid === 'anonymous') return json(401, { error: 'login required' });
    if (sid === 'banned') return json(403, { error: 'banned' });
    if (sid === 'broken') return json(500, { error: 'db password=hunter2 rejected' });
    if (sid === 'redirect') return res.writeHead(302, { location: '/login' }).end();
    if (sid === 'html') return res.writeHead(200, { 'content-type': 'text/html' }).end('<html>login</html>');
    if (sid === 'no-user') return json(200, { user: null });
    if (sid === 'slow') return; // never answers
    json(401, {});
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/api/me?key=s3cret-api-key`,
        seen,
        server,
        close: () => {
          server.closeAllConnections();
          return new Promise((r) => server.close(() => r()));
        },
      });
    }),
  );
}

describe('httpSession: asks the site who the user is', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let backend: Awaited<ReturnType<typeof startAuthBackend>>;
  let t: TestApp;
  let source: SessionSource;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    backend = await startAuthBackend();
    source = httpSession({ url: backend.url, timeoutMs: 300, userId: 'user.id' });
    t = await startApp(db.url, { session: (h) => source(h), sessionRecheckMs: 0 });
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await backend?.close();
    await db?.drop();
  });

  it("forwards the browser's cookies and accepts the user the endpoint names", async () => {
    const cookie = 'theme=dark; sid=good-frank';
    const c = await TestClient.connect(t.url, null, { cookie });
    clients.push(c);
    expect(backend.seen.at(-1)).toBe(cookie);
    await t.service.notify('frank', { type: 't', title: 'for frank' });
    await c.waitForTitle('for frank');
  });

  it('refuses 401, 403 and a 200 without a user as no session; no cookie without asking', async () => {
    const asked = backend.seen.length;
    expect((await TestClient.refusal(t.url, null, { cookie: null })).message).toBe(
      "unauthorized: no session cookie (check: the cookie's name; `secure` on a cookie served over plain http; " +
        'SameSite when the page is on another site; a cookie path that does not cover /socket.io/)',
    );
    expect(backend.seen.length).toBe(asked);
    for (const sid of ['anonymous', 'banned']) {
      const err = await TestClient.refusal(t.url, null, { cookie: `sid=${sid}` });
      expect({ message: err.message, code: err.data?.code }).toEqual({
        message: 'unauthorized: no session (the session endpoint said so)',
        code: 'UNAUTHORIZED',
      });
    }
    const err = await TestClient.refusal(t.url, null, { cookie: 'sid=no-user' });
    expect(err.message).toBe('unauthorized: the session has no user');
  });

  it('refuses as unavailable on an error, a redirect, a non-JSON answer or a timeout, leaking nothing', async () => {
    const cases: [string, string][] = [
      ['broken', 'session check failed: session endpoint answered 500'],
      ['redirect', 'session check failed: session endpoint answered 302'],
      ['html', 'session check failed: session endpoint answered 200 without JSON'],
      ['slow', 'session check failed: session endpoint did not answer within 300 ms'],
    ];
    for (const [sid, message] of cases) {
      const err = await TestClient.refusal(t.url, null, { cookie: `sid=${sid}` });
      expect({ message: err.message, code: err.data?.code }).toEqual({ message, code: 'UNAVAILABLE' });
    }
  });

  it('caches answers per Cookie header for cacheTtlMs, within cacheSize, and never caches failures', async () => {
    source = httpSession({ url: backend.url, userId: 'user.id', cacheTtlMs: 60_000, cacheSize: 2 });
    const asks = async (cookie: string, accepted = true) => {
      const before = backend.seen.length;
      if (accepted) clients.push(await TestClient.connect(t.url, null, { cookie }));
      else await TestClient.refusal(t.url, null, { cookie });
      return backend.seen.length - before;
    };
    expect(await asks('sid=good-g1')).toBe(1);
    expect(await asks('sid=good-g1')).toBe(0);
    expect(await asks('sid=anonymous', false)).toBe(1);
    expect(await asks('sid=anonymous', false)).toBe(0);
    expect(await asks('sid=broken', false)).toBe(1);
    expect(await asks('sid=broken', false)).toBe(1);
    // Two entries at most: g1 was the oldest and is asked again.
    expect(await asks('sid=good-g2')).toBe(1);
    expect(await asks('sid=good-g1')).toBe(1);
  });
});
