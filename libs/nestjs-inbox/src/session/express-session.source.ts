import { unsign } from 'cookie-signature';
import { SessionRejectedError } from '../notifications.errors';
import { NotificationsConfigError } from '../notifications.errors';
import { handshakeCookies, noSessionCookie } from './cookies';
import type { SessionSource } from '../notifications.options';
import { sessionUser, type UserIdLocator, userIdReader } from './user-id';

/** The part of an `express-session` `Store` the source uses (connect-redis, connect-pg-simple, …). */
export interface ExpressSessionStore {
  get(sid: string, callback: (err: unknown, session?: unknown) => void): void;
}

export interface ExpressSessionSourceOptions {
  /** The store the site's `express-session` middleware uses. */
  store: ExpressSessionStore;
  /**
   * The middleware's `secret`, passed as it is: one string, or an array whose first entry
   * signs and whose others still verify (rotation). Give this or `secrets`, not both.
   */
  secret?: string | string[];
  /**
   * The same as an array `secret`, under a plural name for code that keeps its secrets in a
   * list: `secrets: [current, previous]` verifies as `secret: [current, previous]` does.
   * Give this or `secret`, not both (the module refuses to start with both).
   */
  secrets?: string[];
  /** The session cookie's name. Default `'connect.sid'`, as express-session's. */
  name?: string;
  /** Where the session holds the user. Default `'userId'`; `'passport.user'` for Passport. */
  userId?: UserIdLocator;
}

/**
 * The site's `express-session` sessions: verifies the `s:` cookie with every secret, as the
 * middleware does, loads the session from its store, and refuses an expired one.
 */
export function expressSession(options: ExpressSessionSourceOptions): SessionSource {
  const { store, name = 'connect.sid' } = options ?? ({} as ExpressSessionSourceOptions);
  if (!store || typeof store.get !== 'function') {
    throw new NotificationsConfigError('expressSession needs `store`, the express-session Store the site uses');
  }
  const secrets = toSecrets(options);
  if (typeof name !== 'string' || name === '') {
    throw new NotificationsConfigError('expressSession `name` must be the session cookie name');
  }
  const readUserId = userIdReader(options.userId, 'userId');

  return async (handshake) => {
    const raw = handshakeCookies(handshake)[name];
    if (!raw) throw new SessionRejectedError(noSessionCookie(name));
    // express-session ignores a cookie without the `s:` prefix: it never issues one.
    const sid = raw.startsWith('s:') ? unsignWithAny(raw.slice(2), secrets) : false;
    if (sid === false) throw new SessionRejectedError('invalid session cookie signature');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the session is whatever the host's store keeps
    const session = await new Promise<any>((resolve, reject) => store.get(sid, (err, sess) => (err ? reject(err) : resolve(sess))));
    if (!session || isExpired(session)) throw new SessionRejectedError('session unknown or expired');
    return sessionUser(readUserId(session));
  };
}

function toSecrets(options: ExpressSessionSourceOptions): string[] {
  if (options.secret !== undefined && options.secrets !== undefined) {
    throw new NotificationsConfigError('expressSession takes `secret` or `secrets`, not both');
  }
  const given = options.secrets ?? options.secret;
  const secrets = Array.isArray(given) ? given : given === undefined ? [] : [given];
  if (secrets.length === 0 || secrets.some((s) => typeof s !== 'string' || s === '')) {
    throw new NotificationsConfigError('expressSession needs `secret` (or `secrets`): the non-empty secret(s) of express-session');
  }
  return secrets;
}

function unsignWithAny(value: string, secrets: string[]): string | false {
  for (const secret of secrets) {
    const sid = unsign(value, secret);
    if (sid !== false) return sid;
  }
  return false;
}

/** Stores may return an expired session that they purge later; express-session's MemoryStore checks too. */
function isExpired(session: { cookie?: { expires?: string | Date | null } }): boolean {
  const expires = session.cookie?.expires;
  if (!expires) return false;
  const at = typeof expires === 'string' ? new Date(expires) : expires;
  return at.getTime() <= Date.now();
}
