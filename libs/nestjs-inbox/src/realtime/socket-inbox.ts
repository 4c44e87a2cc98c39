import type { Inbox } from '../persistence/inbox-model';

/** The inbox a socket works in: its user in its scope, both set by the handshake (`null`: unscoped). */
export function inboxOf(socket: { data: { userId: string; scope?: string | null } }): Inbox {
  return { userId: socket.data.userId, scope: socket.data.scope ?? null };
}
