import WebSocket from 'ws';
import { now } from '../lib/clock';
import { serve } from '../lib/ipc';

/**
 * The load generator of scenario 8 (connections at scale): many idle authenticated connections
 * in one process, as cheap as a client can be, so that one machine holds 100,000 of them next
 * to the server. Each is a bare `ws` WebSocket speaking Socket.IO's wire protocol itself
 * (Engine.IO v4 over the WebSocket transport, as a browser is after the upgrade): the open
 * packet, the namespace CONNECT, pong for every ping, and a count of `notification` events.
 * socket.io-client costs several times the memory per connection and the CPU per handshake,
 * which on two cores would be taken from the server under test.
 *
 * Each connection binds one of `addresses` (127.0.0.2, …) as its source: a source address has
 * ~28,000 ephemeral ports (net.ipv4.ip_local_port_range), so 100,000 connections need several.
 */
const { ORIGIN } = process.env as Record<string, string>;

const NSP = '/notifications';
/** Text frames, as Socket.IO writes them: `4` MESSAGE + `2` EVENT + namespace + `,` + JSON array. */
const SYNCED = Buffer.from(`42${NSP},["notifications:synced"`);
const NOTIFICATION = Buffer.from(`42${NSP},["notification",`);
const CONNECT = `40${NSP},`;

interface Conn extends WebSocket {
  settle?: (err?: string) => void;
}

const sockets: Conn[] = [];
/** Time each connection of the last `connect` got `notifications:synced`, for the chart. */
let syncedAt: number[] = [];
let received = 0;
let lastAt = 0;
/** Connections lost after they were up (the server closed them, or a ping went unanswered). */
let dropped = 0;

const startsWith = (data: Buffer, prefix: Buffer) =>
  data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;

/** One listener for every socket (`this` is the socket): no closure per connection. */
function onMessage(this: Conn, data: Buffer) {
  switch (data[0]) {
    case 0x32: // '2': Engine.IO ping → pong
      this.send('3');
      return;
    case 0x30: // '0': Engine.IO open → Socket.IO CONNECT to the namespace (no auth payload)
      this.send(CONNECT);
      return;
    case 0x34: // '4': a Socket.IO packet
      if (startsWith(data, NOTIFICATION)) {
        received++;
        lastAt = now();
      } else if (data[1] === 0x34) {
        this.settle?.(data.toString().slice(0, 200)); // '44': CONNECT_ERROR (refused)
      } else if (this.settle && startsWith(data, SYNCED)) {
        this.settle();
      }
  }
}

function onClose(this: Conn) {
  if (this.settle) this.settle('closed before notifications:synced');
  else dropped++;
}

function onError(this: Conn, err: Error) {
  this.settle?.((err as NodeJS.ErrnoException).code ?? err.message);
}

/** Opens one connection and resolves once it has `notifications:synced` (or why not). */
function open(url: string, user: string, localAddress: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const ws: Conn = new WebSocket(`${url}/socket.io/?EIO=4&transport=websocket`, {
      headers: { cookie: `uid=${user}`, origin: ORIGIN },
      localAddress,
      perMessageDeflate: false,
      handshakeTimeout: timeoutMs,
    });
    const timer = setTimeout(() => ws.settle?.(`no notifications:synced within ${timeoutMs} ms`), timeoutMs);
    ws.settle = (err) => {
      ws.settle = undefined;
      clearTimeout(timer);
      if (err) ws.terminate();
      else syncedAt.push(now());
      resolve(err);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
    ws.on('error', onError);
    sockets.push(ws);
  });
}

serve({
  /**
   * Connects one socket per user, `inFlight` handshakes at a time, each from the next source
   * address in turn. Resolves when all have settled: how many are up, and the first few errors
   * by kind (EADDRNOTAVAIL: out of ports; EMFILE: out of file descriptors; timeouts: the server).
   */
  connect: async ({
    url,
    users,
    addresses,
    inFlight = 100,
    timeoutMs = 60_000,
  }: {
    url: string;
    users: string[];
    addresses: string[];
    inFlight?: number;
    timeoutMs?: number;
  }) => {
    syncedAt = [];
    const errors: Record<string, number> = {};
    let next = 0;
    const lane = async () => {
      while (next < users.length) {
        const i = next++;
        const err = await open(url, users[i], addresses[i % addresses.length], timeoutMs);
        if (err) errors[err] = (errors[err] ?? 0) + 1;
      }
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, users.length) }, lane));
    return { connected: syncedAt.length, errors, syncedAt };
  },
  reset: () => {
    received = 0;
    lastAt = 0;
  },
  stats: () => ({ received, lastAt, dropped, open: sockets.filter((s) => s.readyState === WebSocket.OPEN).length }),
  /** The process's own memory: what the load generator costs per connection, for the report. */
  memory: () => process.memoryUsage(),
  cpu: () => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  },
  disconnect: async () => {
    for (const s of sockets) {
      s.settle = undefined;
      s.removeListener('close', onClose);
      s.terminate();
    }
    sockets.length = 0;
    dropped = 0;
  },
});
