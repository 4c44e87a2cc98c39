import { SessionRejectedError } from '../notifications.errors';
import { NotificationsConfigError } from '../notifications.errors';

/**
 * Where a session holds its user: a dot path (`'userId'`, `'passport.user'`) or a function of
 * the session. Numbers are accepted and become strings.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a host's function takes its own session type
export type UserIdLocator<S = any> = string | ((session: S) => unknown);

/** Checks a `userId` option at start-up and returns the reader it describes. */
export function userIdReader<S>(locator: UserIdLocator<S> | undefined, fallback: string): (session: S) => unknown {
  const chosen = locator ?? fallback;
  if (typeof chosen === 'function') return chosen;
  if (typeof chosen !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(chosen)) {
    throw new NotificationsConfigError(
      `userId must be a dot path such as 'passport.user' or a function of the session, got ${String(chosen)}`,
    );
  }
  const path = chosen.split('.');
  return (session) => {
    let value: unknown = session;
    for (const key of path) {
      if (value === null || typeof value !== 'object' || !Object.prototype.hasOwnProperty.call(value, key)) {
        return undefined;
      }
      value = (value as Record<string, unknown>)[key];
    }
    return value;
  };
}

/** The session's user as a source returns it; rejects a session that holds none. */
export function sessionUser(userId: unknown): { userId: string } {
  if (typeof userId === 'number' && Number.isFinite(userId)) return { userId: String(userId) };
  if (typeof userId === 'string' && userId.trim() !== '') return { userId };
  throw new SessionRejectedError('the session has no user');
}
