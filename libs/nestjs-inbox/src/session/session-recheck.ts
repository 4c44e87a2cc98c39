import { Logger } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import { ServerEvent } from '../protocol';
import { SessionRejectedError } from '../notifications.errors';
import { checkSession } from './check-session';
import type { SessionSource } from '../notifications.options';

/** Session checks in flight at once, so a sweep never floods the session store. */
const CONCURRENCY = 16;

/**
 * Re-runs the session source on the stored handshake of every socket on this instance, every
 * `intervalMs`, and disconnects the sockets whose session ended (expired, destroyed, another
 * user). A check that fails for another reason (the store is down) keeps the socket: refusing
 * everyone during an outage would only turn it into a reconnect storm. Returns a stop function.
 */
export function startSessionRecheck(
  nsp: Namespace,
  options: { session: SessionSource; intervalMs: number; timeoutMs: number },
): () => void {
  const logger = new Logger('NotificationsModule');
  let sweeping = false;

  const recheck = async (socket: Socket): Promise<void> => {
    if (!socket.connected) return;
    try {
      const userId = await checkSession(options.session, socket.handshake, options.timeoutMs);
      if (userId === socket.data.userId) return;
      end(socket, 'unauthorized: the session now belongs to another user');
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
function end(socket: Socket, message: string): void {
  socket.emit(ServerEvent.Error, { code: 'UNAUTHORIZED', message });
  socket.disconnect();
}
