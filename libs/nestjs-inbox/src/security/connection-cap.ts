import type { ExtendedError, Socket } from 'socket.io';
import { refusal } from '../session/handshake-auth';

/**
 * Namespace middleware, after authentication: refuses a user's socket beyond `max` on this
 * instance. A slot is taken when the handshake is accepted (so parallel handshakes cannot
 * overshoot) and given back when the socket or, for one that never connected, its transport closes.
 */
export function connectionCap(max: number) {
  const open = new Map<string, number>();
  return (socket: Socket, next: (err?: ExtendedError) => void): void => {
    const userId: string = socket.data.userId;
    const count = open.get(userId) ?? 0;
    if (count >= max) {
      return next(refusal('TOO_MANY_CONNECTIONS', `too many connections for this user (at most ${max})`));
    }
    open.set(userId, count + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const left = (open.get(userId) ?? 1) - 1;
      if (left > 0) open.set(userId, left);
      else open.delete(userId);
      socket.conn.off('close', release);
    };
    socket.once('disconnect', release);
    socket.conn.once('close', release);
    next();
  };
}
