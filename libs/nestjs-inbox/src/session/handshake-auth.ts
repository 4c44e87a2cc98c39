import { Logger } from '@nestjs/common';
import type { ExtendedError, Socket } from 'socket.io';
import type { ErrorCode } from '../protocol';
import type { NotificationsError } from '../notifications.errors';
import { MAX_HELD_IDS, scopeProblem } from '../protocol';
import { heldIds, notificationId } from '../validation/schemas';
import { checkSession } from './check-session';
import type { OriginCheck } from '../security/origin-rule';
import type { SessionSource } from '../notifications.options';

/** What the handshake middleware leaves on `socket.data` for the gateway and guards. */
export interface InboxSocketData {
  userId: string;
  /** The client's `auth.cursor`, validated; `null` without one. */
  cursor: string | null;
  /** The client's `auth.held`, validated; empty without it. */
  held: string[];
  /**
   * The client's `auth.scope`, validated and allowed by the host's `canAccessScope`; `null`:
   * unscoped. Every event of the socket acts on the inbox (userId, scope).
   */
  scope: string | null;
  /**
   * The client's `auth.inlineBadge === true`: it reads a `notification`'s second argument as its
   * inbox's badge, so a notification whose effect on the count is known needs no separate
   * `notifications:unread` (InlineBadges, docs/protocol.md).
   */
  inlineBadge: boolean;
}

/** Decides whether a user may open a socket in a scope (the `canAccessScope` option). */
export type ScopeAccess = (userId: string, scope: string) => boolean | Promise<boolean>;

const logger = new Logger('NotificationsModule');

const NONE_HELD = { success: true, data: Object.freeze([]) as unknown as string[] } as const;

export function refusal(code: ErrorCode, message: string): ExtendedError {
  const err: ExtendedError = new Error(message);
  err.data = { code };
  return err;
}

/**
 * Socket.IO middleware: refuses a handshake from a foreign Origin or without a valid session,
 * before the socket joins any room or any event handler runs (Nest guards do not run on
 * connection). The Origin rule is the one the WebSocket upgrade is held to (`originRule`); here
 * it reads the session's first request, the polling handshake or the WebSocket itself, so the
 * refusal reaches the client as the same `connect_error` on either transport.
 */
export function handshakeAuth(options: {
  session: SessionSource;
  checkOrigin: OriginCheck;
  sessionTimeoutMs: number;
  canAccessScope: ScopeAccess;
}) {
  return async (socket: Socket, next: (err?: ExtendedError) => void): Promise<void> => {
    const { auth } = socket.handshake;
    const refused = options.checkOrigin(socket.handshake);
    if (refused !== null) return next(refusal('FORBIDDEN', refused));
    const cursor = auth?.cursor;
    const parsedCursor = cursor === undefined || cursor === null ? null : notificationId.safeParse(cursor);
    if (parsedCursor && !parsedCursor.success) {
      return next(refusal('INVALID_INPUT', 'auth.cursor: must be the id of a notification'));
    }
    // Most handshakes hold nothing below their cursor: they share one empty list (bench 8).
    const held = auth?.held === undefined || auth?.held === null ? NONE_HELD : heldIds.safeParse(auth.held);
    if (!held.success) {
      return next(refusal('INVALID_INPUT', `auth.held: at most ${MAX_HELD_IDS} notification ids`));
    }
    const scope: unknown = auth?.scope ?? null;
    const badScope = scope === null ? null : scopeProblem(scope);
    if (badScope !== null) return next(refusal('INVALID_INPUT', `auth.scope: ${badScope}`));
    let userId: string;
    try {
      userId = await checkSession(options.session, socket.handshake, options.sessionTimeoutMs);
    } catch (err) {
      const { code, message } = err as NotificationsError;
      return next(refusal(code, message));
    }
    // Only a `true` lets a socket into a scope: no answer, or an error, refuses it too.
    if (scope !== null && (await askScopeAccess(options, userId, scope as string)) !== 'yes') {
      return next(refusal('FORBIDDEN', 'auth.scope: not allowed in this scope'));
    }
    const data: InboxSocketData = {
      userId,
      cursor: parsedCursor ? parsedCursor.data : null,
      held: held.data,
      scope: scope as string | null,
      inlineBadge: auth?.inlineBadge === true,
    };
    Object.assign(socket.data, data);
    next();
  };
}

/**
 * The host's `canAccessScope`, within `sessionTimeoutMs`: `yes` for a `true` answer, `no` for
 * any other answer, `unknown` when it threw (logged, not shown: it may name the host's store) or
 * gave no answer in time. The handshake lets a socket in only on `yes`; the session re-check
 * closes an open one only on `no` (an outage of the host's store must not become a reconnect storm).
 */
export async function askScopeAccess(
  options: { sessionTimeoutMs: number; canAccessScope: ScopeAccess },
  userId: string,
  scope: string,
): Promise<'yes' | 'no' | 'unknown'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'unknown'>((resolve) => {
    timer = setTimeout(() => {
      logger.warn(`canAccessScope gave no answer within ${options.sessionTimeoutMs} ms`);
      resolve('unknown');
    }, options.sessionTimeoutMs);
  });
  try {
    const answer = Promise.resolve().then(() => options.canAccessScope(userId, scope));
    return await Promise.race([answer.then((ok): 'yes' | 'no' => (ok === true ? 'yes' : 'no')), timeout]);
  } catch (err) {
    logger.warn(`canAccessScope failed (${(err as Error)?.name ?? typeof err})`);
    return 'unknown';
  } finally {
    clearTimeout(timer);
  }
}
