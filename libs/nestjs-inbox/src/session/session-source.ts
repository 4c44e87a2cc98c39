import type { Socket } from 'socket.io';

/** The Socket.IO handshake: headers (cookies, Origin), address, `auth`. */
export type Handshake = Socket['handshake'];

/** Who is on the other end of a socket, as the site's session says. */
export interface SessionUser {
  userId: string;
}

/**
 * Resolves the user of a Socket.IO handshake from what the browser sent (its cookies),
 * or `null` when there is no valid session. Throwing refuses the connection too.
 */
export type SessionSource = (handshake: Handshake) => Promise<SessionUser | null> | SessionUser | null;
