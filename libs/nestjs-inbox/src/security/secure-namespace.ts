import type { Namespace } from 'socket.io';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { handshakeAuth } from '../session/handshake-auth';
import { startSessionRecheck } from '../session/session-recheck';
import { connectionCap } from './connection-cap';
import { eventLimits } from './event-limits';

/**
 * Everything that guards the gateway's namespace, in order: Origin and session in the
 * handshake, the per-user connection cap, per-socket event limits, and the periodic session
 * re-check. Returns a function that stops the re-check, for shutdown.
 */
export function secureNamespace(nsp: Namespace, options: ResolvedNotificationsOptions): () => void {
  const session = options.session!;
  nsp.use(handshakeAuth({ session, allowedOrigins: options.allowedOrigins, sessionTimeoutMs: options.sessionTimeoutMs }));
  nsp.use(connectionCap(options.maxConnectionsPerUser));
  nsp.use(eventLimits(options));
  if (options.sessionRecheckMs === 0) return () => undefined;
  return startSessionRecheck(nsp, {
    session,
    intervalMs: options.sessionRecheckMs,
    timeoutMs: options.sessionTimeoutMs,
  });
}
