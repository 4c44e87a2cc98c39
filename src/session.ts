import session, { MemoryStore } from 'express-session';
import { expressSession } from 'nestjs-inbox';

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

/** Who a socket belongs to: the user of the site's own signed session cookie, from its store. */
export const demoSession = expressSession({ store: sessionStore, secret, name: SESSION_COOKIE, userId: 'userId' });
