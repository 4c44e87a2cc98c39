import type { Namespace, Socket } from 'socket.io';

/** Work to do for a socket of the namespace once it disconnected (its rooms already left). */
export type DisconnectJob = (socket: Socket) => void;

const jobsOf = new WeakMap<Namespace, DisconnectJob[]>();

/**
 * Runs `job` for each socket of `nsp` that disconnects. All jobs of a namespace (the connection
 * cap, ShownCounts, the connections gauge) share one `disconnect` listener, the same function on
 * every socket (Socket.IO calls it with the socket as `this`): a socket's `_events.disconnect`
 * is that one function, not an array of listeners and `once` wrappers (~0.35 KiB per idle
 * connection; docs/performance.md, "Memory per connection, attributed"). Jobs run in the order
 * they were registered; register them before the namespace's first connection.
 */
export function onSocketDisconnect(nsp: Namespace, job: DisconnectJob): void {
  const known = jobsOf.get(nsp);
  if (known) {
    known.push(job);
    return;
  }
  const jobs = [job];
  jobsOf.set(nsp, jobs);
  function disconnected(this: Socket): void {
    for (const run of jobs) run(this);
  }
  nsp.on('connection', (socket) => socket.on('disconnect', disconnected));
}
