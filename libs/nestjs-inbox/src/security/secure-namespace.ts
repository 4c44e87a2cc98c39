import type { Namespace } from 'socket.io';
import { assertEngine } from '../compat/engine-io.compat';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { handshakeAuth } from '../session/handshake-auth';
import { startSessionRecheck } from '../session/session-recheck';
import { connectionCap } from './connection-cap';
import { checkUpgrades, originRule } from './origin-rule';

/**
 * Everything that guards the gateway's namespace, in order: the Origin rule on the WebSocket
 * upgrade of a polling session, Origin, session and scope (`canAccessScope`) in the handshake, the per-user connection
 * cap, and the periodic session re-check (the per-socket event limits run in the gateway,
 * before each handler). Returns a function that stops the re-check, for shutdown.
 */
export function secureNamespace(nsp: Namespace, options: ResolvedNotificationsOptions): () => void {
  const session = options.session!;
  const checkOrigin = originRule(options);
  checkUpgrades(assertEngine(nsp.server), checkOrigin);
  nsp.use(handshakeAuth({ session, checkOrigin, sessionTimeoutMs: options.sessionTimeoutMs, canAccessScope: options.canAccessScope }));
  nsp.use(connectionCap(nsp, options.maxConnectionsPerUser));
  if (options.sessionRecheckMs === 0) return () => undefined;
  return startSessionRecheck(nsp, {
    session,
    intervalMs: options.sessionRecheckMs,
    timeoutMs: options.sessionTimeoutMs,
    canAccessScope: options.canAccessScope,
  });
}
