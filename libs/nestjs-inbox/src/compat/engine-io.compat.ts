import type { IncomingMessage } from 'node:http';
import type { Server } from 'socket.io';
import { NotificationsConfigError } from '../notifications.errors';
import { installedVersion } from './peer-versions';

/** The engine.io server under a Socket.IO server. */
export type Engine = Server['engine'];

/**
 * What the library needs of engine.io beyond Socket.IO's API, in one place: the open sessions
 * by id (`clients`, documented in engine.io's README, declared `protected` in its typings), to
 * find the handshake request of a session whose transport is being upgraded.
 */
interface EngineSessions {
  clients: Record<string, { request: IncomingMessage }>;
}

/** Start-up check, where the gateway takes its namespace: the engine is attached and keeps its sessions where expected. */
export function assertEngine(server: Server): Engine {
  const engine = server.engine as Engine | undefined;
  if (!engine || typeof engine.use !== 'function' || typeof (engine as unknown as Partial<EngineSessions>).clients !== 'object') {
    throw new NotificationsConfigError(
      `engine.io@${installedVersion('engine.io') ?? '?'}: the Socket.IO server has no attached engine with \`use()\` and ` +
        '`clients`; nestjs-inbox needs the server attached to the HTTP server when the gateway starts',
    );
  }
  return engine;
}

/** The first request of the open session `sid` (its handshake), or `undefined` for none. */
export function handshakeRequest(engine: Engine, sid: string): IncomingMessage | undefined {
  const sessions = (engine as unknown as EngineSessions).clients;
  return Object.prototype.hasOwnProperty.call(sessions, sid) ? sessions[sid].request : undefined;
}
