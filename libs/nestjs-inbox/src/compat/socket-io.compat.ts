import type { Socket } from 'socket.io';

type AnyListener = (this: Socket, ...args: never[]) => void;

/** Socket.IO's (4.x) private arrays behind `onAny` / `onAnyOutgoing`, and their public readers. */
interface AnyListeners {
  _anyListeners?: AnyListener[];
  _anyOutgoingListeners?: AnyListener[];
  listenersAny?: () => AnyListener[];
  listenersAnyOutgoing?: () => AnyListener[];
}

const FIELDS = {
  incoming: ['_anyListeners', 'listenersAny'],
  outgoing: ['_anyOutgoingListeners', 'listenersAnyOutgoing'],
} as const;

/**
 * `socket.onAny(listener)` (incoming) or `socket.onAnyOutgoing(listener)`, in an array no longer
 * than its listeners. Socket.IO pushes onto a new `[]`, which V8 grows to 17 slots at the first
 * push: ~185 bytes per socket and array where `[listener]` takes ~55 (docs/performance.md,
 * "Memory per connection, attributed"). Socket.IO copies the array before calling its listeners
 * and `offAny…` splices it, so replacing it is safe. Where the private array is not where
 * expected (another Socket.IO, a test double), the public method.
 */
export function addAnyListener(socket: Socket, direction: 'incoming' | 'outgoing', listener: AnyListener): void {
  const [field, reader] = FIELDS[direction];
  const s = socket as unknown as AnyListeners;
  const current = s[field];
  if (typeof s[reader] === 'function' && (current === undefined || Array.isArray(current))) {
    s[field] = current ? [...current, listener] : [listener];
    if (s[reader]!().includes(listener)) return;
    s[field] = current; // the reader does not read that field: leave it as it was
  }
  if (direction === 'incoming') socket.onAny(listener as never);
  else socket.onAnyOutgoing(listener as never);
}
