import session from 'express-session';

/**
 * The site's own express-session: one store, shared by the HTTP middleware (which issues the
 * signed `connect.sid` cookie) and the notifications module (which reads it on the socket).
 */
export const SESSION_COOKIE = 'connect.sid';
export const SESSION_SECRET = process.env.SESSION_SECRET ?? 'compat-host-secret';
export const sessionStore = new session.MemoryStore();

export const sessionMiddleware = session({
  store: sessionStore,
  secret: SESSION_SECRET,
  name: SESSION_COOKIE,
  resave: false,
  saveUninitialized: false,
});

/** What the login route keeps in the session. */
export type UserSession = session.Session & { userId?: string };
