import { Logger } from '@nestjs/common';
import { NotificationsError, SessionRejectedError } from '../notifications.errors';
import { userId as userIdSchema } from '../validation/schemas';
import { handshakeCookies } from './cookies';
import type { Handshake, SessionSource } from '../notifications.options';

const logger = new Logger('NotificationsModule');

/**
 * Runs a session source with a time limit and answers the user id, or throws a
 * {@link NotificationsError} whose message may go to the browser: `UNAUTHORIZED` when the
 * session says no, `UNAVAILABLE` when it could not be checked. Other errors are logged here
 * (redacted, see loggableError) and not shown, since they may name the store or its credentials.
 */
export async function checkSession(source: SessionSource, handshake: Handshake, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new NotificationsError('UNAVAILABLE', `no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  let user: Awaited<ReturnType<SessionSource>>;
  try {
    user = await Promise.race([Promise.resolve().then(() => source(handshake)), timeout]);
  } catch (err) {
    if (err instanceof SessionRejectedError) throw err;
    if (err instanceof NotificationsError) throw new NotificationsError(err.code, `session check failed: ${err.message}`);
    logger.warn(`session source failed: ${loggableError(err, handshake)}`);
    throw new NotificationsError('UNAVAILABLE', 'session check failed: the session source failed');
  } finally {
    clearTimeout(timer);
  }
  if (!user) throw new SessionRejectedError('no valid session');
  const raw: unknown = user.userId;
  const id = userIdSchema.safeParse(typeof raw === 'number' ? String(raw) : raw);
  if (!id.success) {
    logger.error(`session source returned no usable userId (${typeof raw})`);
    throw new SessionRejectedError('the session has no user');
  }
  return id.data;
}

/** Longest message of a failed session source that reaches the log. */
const MAX_LOGGED_MESSAGE = 200;
/** Shorter values and pieces (`s`, `1`, a short name) would blank out ordinary words. */
const MIN_SECRET = 4;
const MIN_SECRET_PIECE = 8;

/**
 * A session source's error as it may be logged: its class and its message, without what the
 * handshake carried to prove who it is (cookie values, the `Authorization` header, string
 * `auth` fields). A store's error may quote what it was asked (a session id is the signed
 * cookie's middle part, `s:<sid>.<signature>`), and a log line is read by more people than the
 * cookie jar. Each value goes raw and URI-decoded, and so does each run of 8 or more of its
 * characters between separators such as `:` and `.`; the message is cut at 200 characters.
 */
export function loggableError(err: unknown, handshake: Handshake): string {
  const kind = err instanceof Error ? err.constructor.name || err.name : typeof err;
  let message = err instanceof Error ? String(err.message) : String(err);
  const secrets = new Set<string>();
  const add = (value: string) => {
    if (value.length >= MIN_SECRET) secrets.add(value);
    for (const piece of value.split(/[^A-Za-z0-9_\-+/]+/)) if (piece.length >= MIN_SECRET_PIECE) secrets.add(piece);
  };
  const carried = [
    ...Object.values(handshakeCookies(handshake, (v) => v)),
    handshake.headers.authorization,
    ...Object.values(handshake.auth ?? {}),
  ];
  for (const value of carried) {
    if (typeof value !== 'string') continue;
    add(value);
    try {
      add(decodeURIComponent(value));
    } catch {
      // not URI-encoded: the raw value is all there is
    }
  }
  // Longest first, so a value goes whole before its pieces are looked for.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) message = message.split(secret).join('[redacted]');
  if (message.length > MAX_LOGGED_MESSAGE) message = `${message.slice(0, MAX_LOGGED_MESSAGE)}…`;
  return `${kind}: ${message}`;
}
