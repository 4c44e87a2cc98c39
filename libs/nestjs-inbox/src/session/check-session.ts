import { Logger } from '@nestjs/common';
import { NotificationsError, SessionRejectedError } from '../notifications.errors';
import { userId as userIdSchema } from '../validation/schemas';
import type { Handshake, SessionSource } from './session-source';

const logger = new Logger('NotificationsModule');

/**
 * Runs a session source with a time limit and answers the user id, or throws a
 * {@link NotificationsError} whose message may go to the browser: `UNAUTHORIZED` when the
 * session says no, `UNAVAILABLE` when it could not be checked. Other errors are logged here
 * and not shown, since they may name the store or its credentials.
 */
export async function checkSession(source: SessionSource, handshake: Handshake, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new NotificationsError('UNAVAILABLE', `no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  let user: Awaited<ReturnType<SessionSource>>;
  try {
    user = await Promise.race([Promise.resolve().then(() => source(handshake)), timeout]);
  } catch (err) {
    if (err instanceof SessionRejectedError) throw err;
    if (err instanceof NotificationsError) throw new NotificationsError(err.code, `session check failed: ${err.message}`);
    logger.warn(`session source failed: ${(err as Error)?.message}`);
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
