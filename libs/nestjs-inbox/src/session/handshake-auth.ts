import { Logger } from '@nestjs/common';
import type { ExtendedError, Socket } from 'socket.io';
import type { ErrorCode } from '../protocol';
import { notificationId, userId as userIdSchema } from '../validation/schemas';
import type { SessionSource } from './session-source';

/** What the handshake middleware leaves on `socket.data` for the gateway and guards. */
export interface InboxSocketData {
  userId: string;
  /** The client's `auth.cursor`, validated; `null` without one. */
  cursor: string | null;
}

export function refusal(code: ErrorCode, message: string): ExtendedError {
  const err: ExtendedError = new Error(message);
  err.data = { code };
  return err;
}

/**
 * Socket.IO middleware: refuses a handshake from a foreign Origin or without a valid session,
 * before the socket joins any room or any event handler runs (Nest guards do not run on
 * connection). A browser always sends `Origin` on a WebSocket upgrade and on cross-site
 * requests; only same-origin polling and non-browser clients may omit it.
 */
export function handshakeAuth(options: { session: SessionSource; allowedOrigins: string[] }) {
  const logger = new Logger('NotificationsModule');
  const origins = new Set(options.allowedOrigins);
  return async (socket: Socket, next: (err?: ExtendedError) => void): Promise<void> => {
    const { headers, auth } = socket.handshake;
    const origin = headers.origin;
    if (origin !== undefined && !origins.has(origin)) {
      return next(refusal('FORBIDDEN', `origin not allowed: ${origin.slice(0, 100)}`));
    }
    const cursor = auth?.cursor;
    const parsedCursor = cursor === undefined || cursor === null ? null : notificationId.safeParse(cursor);
    if (parsedCursor && !parsedCursor.success) {
      return next(refusal('INVALID_INPUT', 'auth.cursor: must be the id of a notification'));
    }
    let user: Awaited<ReturnType<SessionSource>>;
    try {
      user = await options.session(socket.handshake);
    } catch (err) {
      logger.warn(`session source failed: ${(err as Error).message}`);
      return next(refusal('UNAUTHORIZED', 'unauthorized: the session could not be checked'));
    }
    if (!user) return next(refusal('UNAUTHORIZED', 'unauthorized: no valid session'));
    const raw: unknown = user.userId;
    const id = userIdSchema.safeParse(typeof raw === 'number' ? String(raw) : raw);
    if (!id.success) {
      logger.error(`session source returned no usable userId (${typeof raw})`);
      return next(refusal('UNAUTHORIZED', 'unauthorized: the session has no user'));
    }
    const data: InboxSocketData = { userId: id.data, cursor: parsedCursor ? parsedCursor.data : null };
    Object.assign(socket.data, data);
    next();
  };
}
