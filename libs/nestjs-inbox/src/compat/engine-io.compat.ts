import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { NotificationsConfigError } from '../notifications.errors';
import { installedVersion } from './peer-versions';

/** The engine.io server under a Socket.IO server. */
export type Engine = Server['engine'];

/**
 * What the library needs of engine.io beyond Socket.IO's API, in one place: the open sessions
 * by id (`clients`, documented in engine.io's README, declared `protected` in its typings), to
 * find the handshake request of a session whose transport is being upgraded, and the session id
 * a request names as engine.io itself reads it (`req._query`, set before its middlewares run).
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

/**
 * The session id engine.io will act on for `req`: its own parsed query (`req._query`), or the
 * query parsed as it parses it, where the last of repeated parameters wins. Reading the first
 * instead would let `?sid=bogus&sid=<real>` pass a check made on `bogus`.
 */
export function requestedSessionId(req: IncomingMessage): string | undefined {
  const parsed = (req as IncomingMessage & { _query?: Record<string, string> })._query;
  const query = parsed ?? Object.fromEntries(new URL(req.url ?? '/', 'https://socket.io').searchParams.entries());
  return typeof query.sid === 'string' ? query.sid : undefined;
}

/** The parts of a connection's first request that Socket.IO and this library read after the handshake. */
type KeptRequest = Pick<IncomingMessage, 'headers' | 'url' | 'method'> & {
  _query?: unknown;
  connection: { encrypted: boolean };
  socket: { encrypted: boolean };
};

/**
 * Replaces the connection's first request (an `IncomingMessage`, with its parser state, raw
 * headers and stream buffers, kept by engine.io for the connection's life) by a copy of what is
 * read of it later: Socket.IO builds a later namespace's `handshake` from `headers`, `url`,
 * `_query` and `connection.encrypted`; the upgrade check reads `headers` and `socket.encrypted`.
 * A polling session keeps it until it upgrades, since the upgrade's check reads the original.
 */
export function releaseHandshakeRequest(conn: Socket['conn']): void {
  const release = () => {
    const request = conn.request as IncomingMessage & { _query?: unknown };
    if (!request || !('rawHeaders' in request)) return; // already released (another socket of the connection)
    const encrypted = !!(request.socket as { encrypted?: boolean } | undefined)?.encrypted;
    const kept: KeptRequest = {
      headers: request.headers,
      url: request.url,
      method: request.method,
      _query: request._query,
      connection: { encrypted },
      socket: { encrypted },
    };
    (conn as { request: unknown }).request = kept;
  };
  if (conn.transport.name === 'websocket') release();
  else conn.once('upgrade', release);
}
