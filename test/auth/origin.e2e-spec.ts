import { Logger } from '@nestjs/common';
import { parse as parseCookie } from 'cookie';
import type { SessionSource } from 'nestjs-inbox';
import { InboxClient, type TransportState } from 'nestjs-inbox/client';
import WebSocket from 'ws';
import { cookieUser, migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** A store's error as connect-redis and the like throw it: it quotes the key it was asked for. */
class SessionStoreError extends Error {}

/** The tests' session source, except that a `sid` cookie makes the "store" fail, quoting it. */
const failingWithSid: SessionSource = (handshake) => {
  const sid = parseCookie(handshake.headers.cookie ?? '').sid;
  if (sid) throw new SessionStoreError(`GET sess:${sid} failed: connection reset (cookie ${handshake.headers.cookie})`);
  return cookieUser(handshake);
};

/** Resolves when `check` holds for the client's transport, re-checked on each `transport` event. */
function transportWhen(client: InboxClient, check: (t: TransportState | null) => boolean, what: string): Promise<TransportState> {
  if (check(client.transport)) return Promise.resolve(client.transport!);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${what}; transport: ${JSON.stringify(client.transport)}`));
    }, 5000);
    const off = client.on('transport', (t) => {
      if (!check(t)) return;
      clearTimeout(timer);
      off();
      resolve(t);
    });
  });
}

/** A polling handshake as a same-origin page makes it (no Origin); answers the session id. */
async function pollingSession(url: string, cookie: string): Promise<string> {
  const res = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers: { cookie } });
  const body = await res.text();
  return JSON.parse(body.slice(1)).sid as string;
}

/** Whether a WebSocket upgrade to `query` with these headers opens (`open`) or is answered with an HTTP status. */
function upgrade(url: string, query: string, headers: Record<string, string>): Promise<'open' | number> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket&${query}`, { headers });
  return new Promise((resolve, reject) => {
    ws.on('open', () => {
      ws.close();
      resolve('open');
    });
    ws.on('unexpected-response', (_req, res) => {
      ws.terminate();
      resolve(res.statusCode ?? 0);
    });
    ws.on('error', reject);
  });
}

/**
 * Issue 20 (5, 6): one Origin rule for every transport and for the upgrade of a polling session,
 * refusals logged once, `requireOrigin`, and a failing session source logged without the cookie.
 */
describe('the Origin rule and what the handshake logs', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let strict: TestApp;
  /** The server's own origin as a page it served sends it: not in `allowedOrigins` (`http://app.test`). */
  let ownOrigin: string;
  const open: InboxClient[] = [];
  const warnings = () => vi.mocked(Logger.prototype.warn).mock.calls.map(([m]) => String(m));

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, { session: failingWithSid });
    strict = await startApp(db.url, { requireOrigin: true });
    ownOrigin = new URL(t.url).origin;
  });
  beforeEach(() => {
    vi.spyOn(Logger.prototype, 'warn');
  });
  afterEach(() => {
    open.splice(0).forEach((c) => c.close());
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await t?.close();
    await strict?.close();
    await db?.drop();
  });

  it.each(['polling', 'websocket'] as const)(
    "accepts a page on the server's own host over %s, though its origin is not listed",
    async (transport) => {
      const c = await TestClient.connect(t.url, `own-${transport}`, { origin: ownOrigin, transports: [transport] });
      expect(c.socket.io.engine.transport.name).toBe(transport);
      c.close();
    },
  );

  it('refuses a foreign origin on polling and on WebSocket with the same connect_error, and logs it once', async () => {
    const foreign = 'http://localhost:1';
    const polling = await TestClient.refusal(t.url, 'victim', { origin: foreign, transports: ['polling'] });
    const websocket = await TestClient.refusal(t.url, 'victim', { origin: foreign, transports: ['websocket'] });
    const seen = (e: Error & { data?: unknown }) => ({ message: e.message, data: e.data });
    expect(seen(polling)).toEqual({ message: `origin not allowed: ${foreign}`, data: { code: 'FORBIDDEN' } });
    expect(seen(websocket)).toEqual(seen(polling));

    const lines = warnings().filter((m) => m.includes(foreign));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('allowedOrigins');
    expect(lines[0]).toContain(`Host: "${new URL(t.url).host}"`);
  });

  it('holds the WebSocket upgrade of a polling session to the rule: a foreign Origin stays on polling, and the client says why', async () => {
    const foreign = 'https://evil.example';
    const client = new InboxClient({
      url: t.url,
      socket: {
        forceNew: true,
        reconnection: false,
        // Like a same-origin page: no Origin on the polling handshake; then an upgrade whose Origin is foreign.
        transportOptions: {
          polling: { extraHeaders: { cookie: 'uid=upgrader' } },
          websocket: { extraHeaders: { cookie: 'uid=upgrader', origin: foreign } },
        },
      },
    });
    open.push(client);
    const stuck = await transportWhen(client, (tr) => tr?.reason === 'upgrade-failed', 'the failed upgrade');
    expect(stuck).toEqual({ name: 'polling', reason: 'upgrade-failed' });
    // Still served, over polling.
    const [n] = await t.service.notify('upgrader', { type: 't', title: 'over polling' });
    await vi.waitFor(() => expect(client.notifications.map((x) => x.id)).toContain(n.id), { timeout: 5000 });
    expect(warnings().filter((m) => m.includes(foreign))).toHaveLength(1);
  });

  it('reads the session id of an upgrade as engine.io does: a repeated sid does not slip past the rule', async () => {
    const foreign = { cookie: 'uid=smuggler', origin: 'https://smuggler.example' };
    const sid = await pollingSession(t.url, foreign.cookie);
    // engine.io acts on the last `sid`; a check of the first would look at an unknown session.
    expect(await upgrade(t.url, `sid=unknown&sid=${sid}`, foreign)).toBe(400);
    expect(await upgrade(t.url, `sid=${sid}`, foreign)).toBe(400);
    // The control: the same session upgrades from the server's own host.
    expect(await upgrade(t.url, `sid=${sid}`, { cookie: foreign.cookie, origin: ownOrigin })).toBe('open');
  });

  it("lets the same upgrade through from the server's own host (a page opened by another name than allowedOrigins lists)", async () => {
    const client = new InboxClient({
      url: t.url,
      socket: {
        forceNew: true,
        reconnection: false,
        transportOptions: {
          polling: { extraHeaders: { cookie: 'uid=upgraded' } },
          websocket: { extraHeaders: { cookie: 'uid=upgraded', origin: ownOrigin } },
        },
      },
    });
    open.push(client);
    expect(await transportWhen(client, (tr) => tr?.name === 'websocket', 'the upgrade')).toEqual({ name: 'websocket' });
    expect(warnings()).toEqual([]);
  });

  it('requireOrigin: refuses a handshake without Origin on either transport; one with an allowed Origin connects', async () => {
    for (const transport of ['polling', 'websocket'] as const) {
      const err = await TestClient.refusal(strict.url, 'no-origin', { origin: null, transports: [transport] });
      expect({ message: err.message, data: err.data }).toEqual({
        message: 'origin required: the request has no Origin header',
        data: { code: 'FORBIDDEN' },
      });
    }
    expect(warnings().filter((m) => m.includes('requireOrigin'))).toHaveLength(1);
    const c = await TestClient.connect(strict.url, 'with-origin');
    c.close();
  });

  it('logs a failing session source by its class, without the cookie it was given', async () => {
    const sid = 'hQz7Xk2pLr9vTt4sWm8yNa3b';
    const cookie = `sid=s%3A${sid}.Sg1nATuReSg1nATuReSg1nATuRe; uid=someone`;
    const err = await TestClient.refusal(t.url, null, { cookie });
    expect({ message: err.message, data: err.data }).toEqual({
      message: 'session check failed: the session source failed',
      data: { code: 'UNAVAILABLE' },
    });
    const [line] = warnings().filter((m) => m.startsWith('session source failed'));
    expect(line).toMatch(/^session source failed: SessionStoreError: GET sess:\[redacted\] failed/);
    for (const secret of [sid, 'Sg1nATuReSg1nATuReSg1nATuRe', 's%3A', 'someone']) expect(line).not.toContain(secret);
  });
});
