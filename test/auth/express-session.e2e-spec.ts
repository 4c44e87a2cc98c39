import { Controller, Get, INestApplication, Post, Query, Req } from '@nestjs/common';
import connectPgSimple from 'connect-pg-simple';
import { sign, unsign } from 'cookie-signature';
import session from 'express-session';
import type { Request } from 'express';
import { NotificationService, ServerEvent, SessionSource, expressSession } from 'nestjs-inbox';
import WebSocket from 'ws';
import { migrate, ORIGIN, startApp, TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { setCookie } from '../support/http';

const PgStore = connectPgSimple(session);
const SECRETS = ['current-secret', 'previous-secret'];
const NO_COOKIE =
  "unauthorized: no session cookie 'connect.sid' (check: the cookie's name; `secure` on a cookie served over plain http; " +
  'SameSite when the page is on another site; a cookie path that does not cover /socket.io/)';

/** The site's own login and logout, with express-session and Passport's session layout. */
@Controller()
class AuthController {
  constructor(private readonly notifications: NotificationService) {}

  @Get('login')
  login(@Req() req: Request, @Query('user') user: string, @Query('maxAge') maxAge?: string) {
    (req.session as any).passport = { user };
    if (maxAge) req.session.cookie.maxAge = Number(maxAge);
    return { ok: true };
  }

  @Post('logout')
  async logout(@Req() req: Request) {
    const user: string = (req.session as any).passport.user;
    await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
    await this.notifications.disconnectUser(user);
    return { ok: true };
  }
}

describe("expressSession: the site's express-session, in a real Postgres store", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let store: InstanceType<typeof PgStore>;
  let t: TestApp;
  // The module's source; a test may put another in front of it for a while.
  let source: SessionSource;
  let real: SessionSource;
  const clients: TestClient[] = [];
  const track = (c: TestClient) => (clients.push(c), c);

  const login = async (user: string, maxAge?: number): Promise<string> => {
    const res = await fetch(`${t.url}/login?user=${encodeURIComponent(user)}${maxAge ? `&maxAge=${maxAge}` : ''}`);
    expect(res.status).toBe(200);
    // express-session sends the headers before the store has saved; the body's end comes after.
    await res.text();
    return setCookie(res, 'connect.sid');
  };
  const sidOf = (cookie: string) => unsign(decodeURIComponent(cookie.split('=')[1]).slice(2), SECRETS[0]) as string;
  const signed = (sid: string, secret: string) => `connect.sid=${encodeURIComponent(`s:${sign(sid, secret)}`)}`;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    store = new PgStore({ conString: db.url, createTableIfMissing: true, pruneSessionInterval: false });
    real = expressSession({ store, secrets: SECRETS, userId: 'passport.user' });
    source = real;
    t = await startApp(
      db.url,
      { session: (h) => source(h), sessionRecheckMs: 300, sessionTimeoutMs: 500 },
      {},
      {
        controllers: [AuthController],
        configure: (app: INestApplication) => app.use(session({ store, secret: SECRETS, resave: false, saveUninitialized: false })),
      },
    );
  });
  afterEach(() => {
    clients.splice(0).forEach((c) => c.close());
    source = real;
  });
  afterAll(async () => {
    await t?.close();
    await store?.close();
    await db?.drop();
  });

  it("accepts the cookie the middleware issued and delivers to the session's user", async () => {
    await t.service.notify('alice', { type: 't', title: 'missed' });
    const cookie = await login('alice');
    const c = track(await TestClient.connect(t.url, null, { cookie }));
    expect(c.notifications.map((n) => n.title)).toEqual(['missed']);
    await t.service.notify('alice', { type: 't', title: 'live' });
    await c.waitForTitle('live');
  });

  it('accepts a cookie signed with a previous secret (rotation), over polling too', async () => {
    const sid = sidOf(await login('rotating'));
    const old = signed(sid, 'previous-secret');
    const c = track(await TestClient.connect(t.url, null, { cookie: old, transports: ['polling'] }));
    await t.service.notify('rotating', { type: 't', title: 'hi' });
    await c.waitForTitle('hi');
  });

  it('refuses a missing, forged, tampered, unsigned or unknown cookie, naming the reason', async () => {
    const cookie = await login('victim');
    const sid = sidOf(cookie);
    const value = decodeURIComponent(cookie.split('=')[1]);
    const tampered = `connect.sid=${encodeURIComponent(`s:${sid.slice(0, -1)}${sid.endsWith('a') ? 'b' : 'a'}${value.slice(2 + sid.length)}`)}`;
    const cases: [string | null, string][] = [
      [null, NO_COOKIE],
      ['other=1', NO_COOKIE],
      [signed(sid, 'guessed-secret'), 'unauthorized: invalid session cookie signature'],
      [tampered, 'unauthorized: invalid session cookie signature'],
      [`connect.sid=${sid}`, 'unauthorized: invalid session cookie signature'],
      [signed('no-such-session', SECRETS[0]), 'unauthorized: session unknown or expired'],
    ];
    for (const [c, message] of cases) {
      const err = await TestClient.refusal(t.url, null, { cookie: c });
      expect({ message: err.message, code: err.data?.code }).toEqual({ message, code: 'UNAUTHORIZED' });
    }
  });

  it('refuses an expired session, whether the store or the cookie says so', async () => {
    const expired = { cookie: { originalMaxAge: 1000, expires: new Date(Date.now() - 1000) }, passport: { user: 'late' } };
    await new Promise<void>((res, rej) => store.set('expired-in-store', expired as any, (e) => (e ? rej(e) : res())));
    // A store that has not purged it yet: the row lives on, the session's cookie says it ended.
    await new Promise<void>((res, rej) => store.set('expired-in-cookie', expired as any, (e) => (e ? rej(e) : res())));
    await t.dataSource.query(`UPDATE session SET expire = now() + interval '1 hour' WHERE sid = 'expired-in-cookie'`);
    for (const sid of ['expired-in-store', 'expired-in-cookie']) {
      const err = await TestClient.refusal(t.url, null, { cookie: signed(sid, SECRETS[0]) });
      expect(err.message).toBe('unauthorized: session unknown or expired');
    }
  });

  it('refuses when the store fails or hangs, without leaking what the store said', async () => {
    const broken = new PgStore({ conString: 'postgres://inbox:hunter2@127.0.0.1:1/nowhere', pruneSessionInterval: false });
    const cookie = await login('store-down');
    try {
      source = expressSession({ store: broken, secrets: SECRETS, userId: 'passport.user' });
      const err = await TestClient.refusal(t.url, null, { cookie });
      expect({ message: err.message, code: err.data?.code }).toEqual({
        message: 'session check failed: the session source failed',
        code: 'UNAVAILABLE',
      });
      source = () => new Promise(() => undefined);
      const slow = await TestClient.refusal(t.url, null, { cookie });
      expect(slow.message).toBe('session check failed: no answer within 500 ms');
    } finally {
      await broken.close();
    }
  });

  it('refuses a WebSocket upgrade from a foreign Origin even with a valid cookie; it receives nothing', async () => {
    await t.service.notify('hijacked', { type: 't', title: 'secret' });
    const cookie = await login('hijacked');
    const err = await TestClient.refusal(t.url, null, { cookie, origin: 'https://evil.example', transports: ['websocket'] });
    expect({ message: err.message, code: err.data?.code }).toEqual({
      message: 'origin not allowed: https://evil.example',
      code: 'FORBIDDEN',
    });

    // The same with a bare WebSocket, as a hostile page's `new WebSocket(...)` would send it.
    const frames = await rawWebSocket(t.url, { cookie, origin: 'https://evil.example' });
    expect(frames.some((f) => f.startsWith('44/notifications,') && f.includes('origin not allowed'))).toBe(true);
    expect(frames.filter((f) => f.startsWith('42') || f.startsWith('40/notifications,{"sid"'))).toEqual([]);
    // And the control: the same bare WebSocket from the site's origin gets the catch-up.
    const own = await rawWebSocket(t.url, { cookie, origin: ORIGIN }, (f) => f.includes('notifications:synced'));
    expect(own.some((f) => f.startsWith('42/notifications,["notification"') && f.includes('secret'))).toBe(true);
  });

  it('logout destroys the session and disconnects every tab; the cookie no longer connects', async () => {
    const cookie = await login('leaving');
    const tabs = [track(await TestClient.connect(t.url, null, { cookie })), track(await TestClient.connect(t.url, null, { cookie }))];
    const res = await fetch(`${t.url}/logout`, { method: 'POST', headers: { cookie } });
    expect(res.status).toBe(201);
    for (const tab of tabs) await tab.waitFor('disconnect');
    const err = await TestClient.refusal(t.url, null, { cookie });
    expect(err.message).toBe('unauthorized: session unknown or expired');
  });

  it('disconnects a socket whose session is destroyed in the store or expires, at the next re-check', async () => {
    const destroyedCookie = await login('destroyed');
    const expiringCookie = await login('expiring', 1500);
    const destroyed = track(await TestClient.connect(t.url, null, { cookie: destroyedCookie }));
    const expiring = track(await TestClient.connect(t.url, null, { cookie: expiringCookie }));
    const staying = track(await TestClient.connect(t.url, null, { cookie: await login('staying') }));

    await new Promise<void>((res, rej) => store.destroy(sidOf(destroyedCookie), (e) => (e ? rej(e) : res())));
    const why = await destroyed.waitFor(ServerEvent.Error as any, undefined, { timeoutMs: 3000 });
    expect(why).toEqual({ code: 'UNAUTHORIZED', message: 'unauthorized: session unknown or expired' });
    await destroyed.waitFor('disconnect', (reason) => reason === 'io server disconnect', { timeoutMs: 3000 });
    await expiring.waitFor('disconnect', undefined, { timeoutMs: 5000 });

    // The one whose session lives on is still connected and served.
    expect(staying.socket.connected).toBe(true);
    await t.service.notify('staying', { type: 't', title: 'still here' });
    await staying.waitForTitle('still here');
  });

  it('keeps sockets connected while the store is unreachable during re-checks', async () => {
    // Two re-checks fail; then a barrier notification proves the socket is still served.
    const c = track(await TestClient.connect(t.url, null, { cookie: await login('patient') }));
    let calls = 0;
    let twoRechecks!: () => void;
    const done = new Promise<void>((resolve) => (twoRechecks = resolve));
    source = () => {
      if (++calls === 2) twoRechecks();
      return Promise.reject(new Error('store down'));
    };
    await done;
    source = real;
    await t.service.notify('patient', { type: 't', title: 'barrier' });
    await c.waitForTitle('barrier');
    expect(c.log.filter((e) => e.event === 'disconnect')).toEqual([]);
  });
});

/**
 * A bare Engine.IO WebSocket: sends the CONNECT packet for `/notifications` and collects
 * every frame until the server closes, answers a refusal, or `until` matches one.
 */
function rawWebSocket(url: string, headers: Record<string, string>, until?: (frame: string) => boolean): Promise<string[]> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`, { headers });
  const frames: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`no end within 5 s; frames: ${frames.join(' | ')}`)), 5000);
    const finish = (err?: Error) => {
      clearTimeout(timer);
      ws.close();
      if (err) reject(err);
      else resolve(frames);
    };
    ws.on('message', (data) => {
      const frame = data.toString();
      frames.push(frame);
      if (frame.startsWith('0')) ws.send('40/notifications,');
      if (frame === '2') ws.send('3');
      if (frame.startsWith('44/notifications,') || until?.(frame)) finish();
    });
    ws.on('close', () => finish());
    ws.on('error', (err) => finish(err));
  });
}
