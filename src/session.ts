import { parse as parseCookie } from 'cookie';
import { unsign } from 'cookie-signature';
import session, { MemoryStore, SessionData } from 'express-session';
import type { SessionSource } from 'nestjs-inbox';

declare module 'express-session' {
  interface SessionData {
    userId?: string;
  }
}

export const SESSION_COOKIE = 'connect.sid';
const secret = process.env.SESSION_SECRET ?? 'demo-secret-change-me';

/** The demo's own sessions; a real site uses connect-redis or connect-pg-simple. */
export const sessionStore = new MemoryStore();

export const sessionMiddleware = session({
  store: sessionStore,
  secret,
  name: SESSION_COOKIE,
  resave: false,
  saveUninitialized: false,
  cookie: { httpOnly: true, sameSite: 'lax', maxAge: 7 * 24 * 3600 * 1000 },
});

/** Who a socket belongs to: the user of the site's own signed session cookie. */
export const demoSession: SessionSource = async (handshake) => {
  const raw = parseCookie(handshake.headers.cookie ?? '')[SESSION_COOKIE];
  if (!raw?.startsWith('s:')) return null;
  const sid = unsign(raw.slice(2), secret);
  if (sid === false) return null;
  const data = await new Promise<SessionData | null | undefined>((resolve, reject) =>
    sessionStore.get(sid, (err, s) => (err ? reject(err) : resolve(s))),
  );
  return data?.userId ? { userId: data.userId } : null;
};
