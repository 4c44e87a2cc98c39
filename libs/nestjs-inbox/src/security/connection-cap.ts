import type { ExtendedError, Namespace, Socket } from 'socket.io';
import { onSocketDisconnect } from '../realtime/socket-disconnects';
import { refusal } from '../session/handshake-auth';

/**
 * Namespace middleware, after authentication: refuses a user's socket beyond `max` on this
 * instance. A slot is taken when the handshake is accepted (so parallel handshakes cannot
 * overshoot) and given back when the socket disconnects or, for one that never connected, at
 * once (its connection closed during the handshake) or when its transport closes (a middleware
 * of the host's after this one refused it).
 *
 * An idle connection holds no closure of its own here: a job of the namespace's shared
 * `disconnect` listener (onSocketDisconnect), and a WeakSet entry (bench 8: memory per connection at 100,000).
 */
export function connectionCap(nsp: Namespace, max: number) {
  const open = new Map<string, number>();
  const holding = new WeakSet<Socket>();
  const release = (socket: Socket): void => {
    if (!holding.delete(socket)) return;
    const userId: string = socket.data.userId;
    const left = (open.get(userId) ?? 1) - 1;
    if (left > 0) open.set(userId, left);
    else open.delete(userId);
  };
  onSocketDisconnect(nsp, release);
  // Socket.IO connects a socket on the tick after its last middleware called next()
  // (Namespace._add), so a tick queued after that call finds it connected, or never to be.
  const settle = (socket: Socket): void => {
    if (socket.connected || !holding.has(socket)) return;
    if (socket.conn.readyState !== 'open') return release(socket);
    // Not connected yet with its transport open: a middleware of the host's after this one is
    // still deciding. Its transport closing gives the slot back, if `disconnect` does not.
    const onClose = () => release(socket);
    socket.conn.once('close', onClose);
    socket.once('disconnect', () => socket.conn.off('close', onClose));
  };
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const userId: string = socket.data.userId;
    const count = open.get(userId) ?? 0;
    if (count >= max) {
      return next(refusal('TOO_MANY_CONNECTIONS', `too many connections for this user (at most ${max})`));
    }
    open.set(userId, count + 1);
    holding.add(socket);
    next();
    process.nextTick(settle, socket);
  };
}
