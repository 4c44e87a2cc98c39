import { createHash } from 'node:crypto';
import { NotificationsError, SessionRejectedError } from '../notifications.errors';
import { NotificationsConfigError } from '../notifications.errors';
import { noSessionCookie } from './cookies';
import type { SessionSource, SessionUser } from '../notifications.options';
import { sessionUser, type UserIdLocator, userIdReader } from './user-id';

export interface HttpSessionSourceOptions {
  /** The site's endpoint that answers who the user of these cookies is, e.g. `https://app.example.com/api/me`. */
  url: string;
  /** Longest wait for the endpoint; slower answers refuse the socket. Default 3000 ms. */
  timeoutMs?: number;
  /**
   * How long an answer (user or no session) is reused for the same `Cookie` header, sparing
   * the endpoint a request per reconnect and per session re-check. Default 0: no cache.
   */
  cacheTtlMs?: number;
  /** Most cached answers; the oldest goes first. Default 10,000. */
  cacheSize?: number;
  /** Where the endpoint's JSON answer holds the user. Default `'userId'`. */
  userId?: UserIdLocator;
}

/**
 * Sessions kept by another backend: forwards the browser's `Cookie` header to `url`.
 * 200 with a user id accepts, 401 or 403 means no session, anything else (a redirect, a 5xx,
 * a timeout) refuses the socket as unavailable.
 */
export function httpSession(options: HttpSessionSourceOptions): SessionSource {
  const { url, timeoutMs = 3000, cacheTtlMs = 0, cacheSize = 10_000 } = options ?? ({} as HttpSessionSourceOptions);
  let endpoint: URL;
  try {
    endpoint = new URL(url);
  } catch {
    throw new NotificationsConfigError(
      `httpSession needs \`url\`, an absolute http(s) URL (got ${typeof url === 'string' ? 'a relative or malformed one' : typeof url})`,
    );
  }
  if (!/^https?:$/.test(endpoint.protocol)) {
    throw new NotificationsConfigError('httpSession `url` must be http or https');
  }
  nonNegativeInteger('timeoutMs', timeoutMs, 1);
  nonNegativeInteger('cacheTtlMs', cacheTtlMs, 0);
  nonNegativeInteger('cacheSize', cacheSize, 1);
  const readUserId = userIdReader(options.userId, 'userId');
  // Keyed by a hash, so the cache holds no cookie values.
  const cache = new Map<string, { until: number; user: SessionUser | null }>();

  const ask = async (cookie: string): Promise<SessionUser | null> => {
    let response: Response;
    try {
      response = await fetch(endpoint, {
        headers: { cookie, accept: 'application/json' },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError';
      throw new NotificationsError(
        'UNAVAILABLE',
        timedOut ? `session endpoint did not answer within ${timeoutMs} ms` : 'session endpoint unreachable',
      );
    }
    if (response.status === 401 || response.status === 403) {
      await response.body?.cancel();
      return null;
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new NotificationsError('UNAVAILABLE', `session endpoint answered ${response.status}`);
    }
    const body: unknown = await response.json().catch(() => {
      throw new NotificationsError('UNAVAILABLE', 'session endpoint answered 200 without JSON');
    });
    return sessionUser(readUserId(body));
  };

  return async (handshake) => {
    const cookie = handshake.headers.cookie;
    if (!cookie) throw new SessionRejectedError(noSessionCookie());
    if (cacheTtlMs === 0) return orReject(await ask(cookie));
    const key = createHash('sha256').update(cookie).digest('base64');
    const hit = cache.get(key);
    if (hit && hit.until > Date.now()) return orReject(hit.user);
    const user = await ask(cookie);
    cache.delete(key);
    if (cache.size >= cacheSize) cache.delete(cache.keys().next().value!);
    cache.set(key, { until: Date.now() + cacheTtlMs, user });
    return orReject(user);
  };
}

function orReject(user: SessionUser | null): SessionUser {
  if (!user) throw new SessionRejectedError('no session (the session endpoint said so)');
  return user;
}

function nonNegativeInteger(name: string, value: number, min: number): void {
  if (!Number.isInteger(value) || value < min) {
    throw new NotificationsConfigError(`httpSession \`${name}\` must be an integer >= ${min}, got ${String(value)}`);
  }
}
