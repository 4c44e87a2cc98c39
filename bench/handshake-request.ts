/**
 * `npm run bench:handshake-request`: what `releaseHandshakeRequest` saves per idle connection.
 * Socket.IO keeps each connection's first HTTP request for the connection's life. For a browser's
 * default transports (a polling handshake, then the WebSocket upgrade) that request is the polling
 * request with its response; a WebSocket-only client's is the upgrade request, which the heap
 * barely notices. Both modes run here, each with and without the release as the library does it
 * (`compat/engine-io.compat.ts`). The clients live in the same process: they are the same in
 * every mode, so the difference between modes is the server's.
 */
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { Server, type Socket } from 'socket.io';
import { io as connect, type Socket as ClientSocket } from 'socket.io-client';
import { recordUpgradeResponses, releaseHandshakeRequest } from '../libs/nestjs-inbox/src/compat/engine-io.compat';

const N = Number(process.env.CONNECTIONS ?? 1500);
const gc = (globalThis as { gc?: () => void }).gc;

async function heapPerConnection(transports: ('polling' | 'websocket')[], release: boolean, n = N): Promise<number> {
  const http = createServer();
  const io = new Server(http);
  if (release) recordUpgradeResponses(io.engine);
  io.of('/n').on('connection', (socket: Socket) => release && releaseHandshakeRequest(socket.conn));
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const { port } = http.address() as { port: number };
  gc!();
  const before = process.memoryUsage().heapUsed;
  const clients: ClientSocket[] = [];
  for (let i = 0; i < n; i++) {
    const client = connect(`http://127.0.0.1:${port}/n`, { transports, forceNew: true, extraHeaders: { cookie: `uid=user-${i}` } });
    clients.push(client);
    await new Promise<void>((resolve) =>
      transports.length > 1 ? client.io.engine.once('upgrade', () => resolve()) : client.once('connect', resolve),
    );
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  gc!();
  const perConnection = (process.memoryUsage().heapUsed - before) / n / 1024;
  for (const c of clients) c.disconnect();
  io.close();
  return perConnection;
}

/** One measurement per process: a previous round's sockets, freed during the next, would skew it. */
function measureInChild(transports: string, release: boolean): number {
  const out = execFileSync(process.execPath, [...process.execArgv, __filename, transports, String(release)], { encoding: 'utf8' });
  return Number(out.trim());
}

async function main() {
  const [transports, release] = process.argv.slice(2);
  if (transports) {
    if (!gc) throw new Error('run with node --expose-gc (npm run bench:handshake-request does)');
    await heapPerConnection(transports.split(',') as ('polling' | 'websocket')[], release === 'true', 300); // first runs of the code
    console.log(await heapPerConnection(transports.split(',') as ('polling' | 'websocket')[], release === 'true'));
    return;
  }
  console.log(`${N} connections each, one process per measurement; heap per connection (server and client) after a full GC`);
  for (const mode of ['polling,websocket', 'websocket']) {
    const kept = [0, 1].map(() => measureInChild(mode, false));
    const released = [0, 1].map(() => measureInChild(mode, true));
    const f = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
    console.log(`${mode.replace(',', ' → ').padEnd(20)} kept ${f(kept)} KiB, released ${f(released)} KiB`);
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
