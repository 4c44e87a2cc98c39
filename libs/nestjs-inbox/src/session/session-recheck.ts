import { Logger } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import { ServerEvent } from '../protocol';
import { SessionRejectedError } from '../notifications.errors';
import { checkSession } from './check-session';
import { askScopeAccess, type ScopeAccess } from './handshake-auth';
import type { SessionSource } from '../notifications.options';

/** Session checks in flight at once, so a sweep never floods the session store. */
const CONCURRENCY = 16;

/**
 * Re-runs the session source on the stored handshake of every socket on this instance, every
 * `intervalMs`, and disconnects the sockets whose session ended (expired, destroyed, another
 * user), or whose scope the host's `canAccessScope` now refuses. A check that fails for another
 * reason (the store is down, no answer) keeps the socket: refusing everyone during an outage
 * would only turn it into a reconnect storm. Returns a stop function.
 */
export function startSessionRecheck(
  nsp: Namespace,
  options: { session: SessionSource; intervalMs: number; timeoutMs: number; canAccessScope: ScopeAccess },
): () => void {
  const logger = new Logger('NotificationsModule');
  let sweeping = false;

  const recheck = async (socket: Socket): Promise<void> => {
    if (!socket.connected) return;
    try {
      const userId = await checkSession(options.session, socket.handshake, options.timeoutMs);
      if (userId !== socket.data.userId) return end(socket, 'unauthorized: the session now belongs to another user');
      // A scope the host no longer gives the user (they left the workspace) closes the socket.
      const scope: string | null = socket.data.scope ?? null;
      if (scope === null || !socket.connected) return;
      const access = { sessionTimeoutMs: options.timeoutMs, canAccessScope: options.canAccessScope };
      if ((await askScopeAccess(access, userId, scope)) === 'no') end(socket, 'auth.scope: no longer allowed in this scope', 'FORBIDDEN');
    } catch (err) {
      if (err instanceof SessionRejectedError) end(socket, err.message);
    }
  };

  const sweep = async (): Promise<void> => {
    if (sweeping) return;
    sweeping = true;
    try {
      const sockets = [...nsp.sockets.values()];
      for (let i = 0; i < sockets.length; i += CONCURRENCY) {
        await Promise.all(sockets.slice(i, i + CONCURRENCY).map(recheck));
      }
    } catch (err) {
      logger.error(`session re-check failed: ${(err as Error).message}`);
    } finally {
      sweeping = false;
    }
  };

  const timer = setInterval(() => void sweep(), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Says why, then closes this namespace's socket only (the host's other namespaces may share the connection). */
function end(socket: Socket, message: string, code: 'UNAUTHORIZED' | 'FORBIDDEN' = 'UNAUTHORIZED'): void {
  socket.emit(ServerEvent.Error, { code, message });
  socket.disconnect();
}
