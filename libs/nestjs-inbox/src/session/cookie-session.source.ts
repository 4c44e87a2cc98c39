import Keygrip from 'keygrip';
import { SessionRejectedError } from '../notifications.errors';
import { NotificationsConfigError } from '../notifications.errors';
import { handshakeCookies, noSessionCookie } from './cookies';
import type { SessionSource } from '../notifications.options';
import { sessionUser, type UserIdLocator, userIdReader } from './user-id';

export interface CookieSessionSourceOptions {
  /** The middleware's `keys` (the first signs, all verify), or the same `Keygrip` instance. */
  keys: string[] | Keygrip;
  /** The session cookie's name; its signature is `<name>.sig`. Default `'session'`, as cookie-session's. */
  name?: string;
  /** Where the session holds the user. Default `'userId'`. */
  userId?: UserIdLocator;
}

/**
 * The site's `cookie-session` sessions: the whole session is the cookie, base64 JSON, signed
 * by Keygrip in a `<name>.sig` cookie over `<name>=<value>`. There is no server-side state, so
 * a session cannot be revoked before its cookie expires: log out with `disconnectUser` too.
 */
export function cookieSession(options: CookieSessionSourceOptions): SessionSource {
  const { keys, name = 'session' } = options ?? ({} as CookieSessionSourceOptions);
  const keygrip = toKeygrip(keys);
  if (typeof name !== 'string' || name === '') {
    throw new NotificationsConfigError('cookieSession `name` must be the session cookie name');
  }
  const readUserId = userIdReader(options.userId, 'userId');

  return (handshake) => {
    // `cookies` verifies the raw value, so no URI-decoding here.
    const cookies = handshakeCookies(handshake, (v) => v);
    const value = cookies[name];
    if (!value) throw new SessionRejectedError(noSessionCookie(name));
    const signature = cookies[`${name}.sig`];
    if (!signature || keygrip.index(`${name}=${value}`, signature) < 0) {
      throw new SessionRejectedError('invalid session cookie signature');
    }
    let session: unknown;
    try {
      session = JSON.parse(Buffer.from(value, 'base64').toString('utf8'));
    } catch {
      throw new SessionRejectedError('unreadable session cookie');
    }
    return sessionUser(readUserId(session));
  };
}

function toKeygrip(keys: CookieSessionSourceOptions['keys']): Keygrip {
  if (keys && !Array.isArray(keys) && typeof keys.index === 'function') return keys;
  if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string' || k === '')) {
    throw new NotificationsConfigError('cookieSession needs `keys`: the non-empty signing keys of cookie-session');
  }
  return new Keygrip(keys);
}
