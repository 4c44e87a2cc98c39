import { Controller, Get, INestApplication, Query, Req } from '@nestjs/common';
import cookieSessionMiddleware from 'cookie-session';
import type { Request } from 'express';
import Keygrip from 'keygrip';
import { cookieSession, SessionSource } from 'nestjs-inbox';
import { migrate, startApp, TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { setCookies } from '../support/http';

const KEYS = ['key-2026', 'key-2025'];

/** The site's login, with the cookie-session middleware. */
@Controller()
class LoginController {
  @Get('login')
  login(@Req() req: Request, @Query('user') user?: string) {
    (req as any).session = user ? { account: { id: user }, theme: 'dark' } : { theme: 'dark' };
    return { ok: true };
  }
}

describe("cookieSession: the site's cookie-session cookies", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let source: SessionSource;
  const real = cookieSession({ keys: KEYS, name: 'sess', userId: 'account.id' });
  const clients: TestClient[] = [];

  const login = async (user?: string) => setCookies(await fetch(`${t.url}/login${user ? `?user=${user}` : ''}`));
  const part = (cookie: string, name: string) =>
    cookie
      .split('; ')
      .find((c) => c.startsWith(`${name}=`))!
      .slice(name.length + 1);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    source = real;
    t = await startApp(
      db.url,
      { session: (h) => source(h) },
      {},
      {
        controllers: [LoginController],
        configure: (app: INestApplication) => app.use(cookieSessionMiddleware({ name: 'sess', keys: KEYS })),
      },
    );
  });
  afterEach(() => {
    clients.splice(0).forEach((c) => c.close());
    source = real;
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('accepts the cookies the middleware issued and reads the user by path', async () => {
    const cookie = await login('carol');
    expect(cookie).toMatch(/^sess=[^;]+; sess\.sig=/);
    const c = await TestClient.connect(t.url, null, { cookie });
    clients.push(c);
    await t.service.notify('carol', { type: 't', title: 'for carol' });
    await c.waitForTitle('for carol');
  });

  it('accepts a cookie signed with an older key, and a Keygrip instance or a function for the user', async () => {
    const value = part(await login('dave'), 'sess');
    const oldSig = new Keygrip([KEYS[1]]).sign(`sess=${value}`);
    source = cookieSession({ keys: new Keygrip(KEYS), name: 'sess', userId: (s: any) => s.account.id });
    const c = await TestClient.connect(t.url, null, { cookie: `sess=${value}; sess.sig=${oldSig}` });
    clients.push(c);
    await t.service.notify('dave', { type: 't', title: 'for dave' });
    await c.waitForTitle('for dave');
  });

  it('refuses a missing, unsigned, forged or tampered cookie, and a session without a user', async () => {
    const cookie = await login('erin');
    const value = part(cookie, 'sess');
    const sig = part(cookie, 'sess.sig');
    const admin = Buffer.from(JSON.stringify({ account: { id: 'admin' } })).toString('base64');
    const cases: [string | null, string][] = [
      [
        null,
        "unauthorized: no session cookie 'sess' (check: the cookie's name; `secure` on a cookie served over plain http; " +
          'SameSite when the page is on another site; a cookie path that does not cover /socket.io/)',
      ],
      [`sess=${value}`, 'unauthorized: invalid session cookie signature'],
      [`sess=${value}; sess.sig=${new Keygrip(['guessed']).sign(`sess=${value}`)}`, 'unauthorized: invalid session cookie signature'],
      [`sess=${admin}; sess.sig=${sig}`, 'unauthorized: invalid session cookie signature'],
      [await login(), 'unauthorized: the session has no user'],
    ];
    for (const [c, message] of cases) {
      const err = await TestClient.refusal(t.url, null, { cookie: c });
      expect({ message: err.message, code: err.data?.code }).toEqual({ message, code: 'UNAUTHORIZED' });
    }
  });
});
