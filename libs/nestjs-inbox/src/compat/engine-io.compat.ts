import { ServerResponse, type IncomingMessage } from 'node:http';
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

/** What engine.io (6.6) hands its middlewares as the response of a WebSocket upgrade: a stand-in that keeps the request. */
interface UpgradeResponse {
  req?: unknown;
}

/**
 * The response of each WebSocket upgrade, by its TCP socket. Engine.io's stand-in response
 * keeps `req`, and the TCP socket's `close` listener keeps the response, so the upgrade's
 * request lives as long as the connection whatever `conn.request` says. Weak: an upgrade whose
 * connection never reaches the library's namespace is let go with its socket.
 */
const upgradeResponses = new WeakMap<object, UpgradeResponse>();

/**
 * Engine middleware that records the responses of WebSocket upgrades, so that
 * `releaseHandshakeRequest` can drop their request too. Added once, where the gateway takes its
 * namespace, when the option is on (a polling request's response is Node's own, let go once sent).
 */
export function recordUpgradeResponses(engine: Engine): void {
  engine.use((req: IncomingMessage, res: unknown, next: () => void) => {
    if (req.socket && !(res instanceof ServerResponse) && typeof res === 'object' && res !== null && 'req' in res) {
      upgradeResponses.set(req.socket, res as UpgradeResponse);
    }
    next();
  });
}

/** A copy of what is read of a request after the handshake (see releaseHandshakeRequest). */
function keep(request: IncomingMessage & { _query?: unknown }): KeptRequest {
  const encrypted = !!(request.socket as { encrypted?: boolean } | undefined)?.encrypted;
  return {
    headers: request.headers,
    url: request.url,
    method: request.method,
    _query: request._query,
    connection: { encrypted },
    socket: { encrypted },
  };
}

const isIncomingMessage = (request: unknown): request is IncomingMessage =>
  typeof request === 'object' && request !== null && 'rawHeaders' in request;

/**
 * Replaces the connection's first request (an `IncomingMessage`, with its parser state, raw
 * headers and stream buffers, kept by engine.io for the connection's life) by a copy of what is
 * read of it later: Socket.IO builds a later namespace's `handshake` from `headers`, `url`,
 * `_query` and `connection.encrypted`; the upgrade check reads `headers` and `socket.encrypted`.
 * A polling session keeps it until it upgrades, since the upgrade's check reads the original.
 *
 * On a WebSocket, engine.io's upgrade response keeps the upgrade's request too (the first
 * request, for a WebSocket-only client): recorded by `recordUpgradeResponses`, it gets the same
 * copy. Where engine.io's or ws's private shape differs (no recorded response: `transport.socket`
 * is not a ws socket with `_socket`, or the response keeps no `req`), only `conn.request` is
 * replaced, as before engine.io 6.6; test/auth/release-request.e2e-spec.ts finds out which.
 */
export function releaseHandshakeRequest(conn: Socket['conn']): void {
  const release = () => {
    const request = conn.request as unknown;
    if (isIncomingMessage(request)) (conn as { request: unknown }).request = keep(request);
    // else already released (another socket of the connection)
    const ws = (conn.transport as { socket?: { _socket?: object } }).socket;
    const tcp = ws?._socket ?? (isIncomingMessage(request) ? request.socket : undefined);
    const response = tcp ? upgradeResponses.get(tcp) : undefined;
    if (!response) return;
    upgradeResponses.delete(tcp!);
    if (isIncomingMessage(response.req)) response.req = response.req === request ? conn.request : keep(response.req);
  };
  if (conn.transport.name === 'websocket') release();
  else conn.once('upgrade', release);
}
