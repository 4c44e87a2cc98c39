import type { IncomingMessage } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { NotificationsGateway, ServerEvent } from 'nestjs-inbox';
import { Manager, type Socket as ClientSocket } from 'socket.io-client';
import type { Socket } from 'socket.io';
import { migrate, ORIGIN, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** `releaseHandshakeRequest`: the connection's first request is let go, and what is read of it later still works. */
describe('releaseHandshakeRequest', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let released: TestApp;
  let kept: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    released = await startApp(db.url, { releaseHandshakeRequest: true });
    kept = await startApp(db.url);
  });
  afterAll(async () => {
    await released?.close();
    await kept?.close();
    await db?.drop();
  });

  const serverSocket = (t: TestApp, userId: string): Socket => {
    const found = [...t.app.get(NotificationsGateway).server.sockets.values()].find((s) => s.data.userId === userId);
    if (!found) throw new Error(`no socket of ${userId}`);
    return found;
  };
  const isIncomingMessage = (request: unknown) => typeof (request as IncomingMessage).rawHeaders === 'object';

  function until(socket: ClientSocket, event: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${event} within 5 s`)), 5000);
      socket.once(event, (payload: unknown) => {
        clearTimeout(timer);
        resolve(payload);
      });
    });
  }

  /** Until the server's side of a polling connection has upgraded to WebSocket. */
  function upgraded(socket: Socket): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no upgrade within 5 s')), 5000);
      socket.conn.once('upgrade', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** The engine's requests from now on (each connection's first, and every later one: polls, WebSocket upgrades), weakly. */
  function watchRequests(t: TestApp): { refs: WeakRef<IncomingMessage>[]; stop: () => void } {
    const refs: WeakRef<IncomingMessage>[] = [];
    const engine = t.app.get(NotificationsGateway).server.server.engine;
    const onConnection = (conn: { request: IncomingMessage }) => refs.push(new WeakRef(conn.request));
    const onHeaders = (_headers: unknown, req: IncomingMessage) => refs.push(new WeakRef(req));
    engine.on('connection', onConnection);
    engine.on('headers', onHeaders);
    return { refs, stop: () => (engine.off('connection', onConnection), engine.off('headers', onHeaders)) };
  }

  // A full collection of a test worker's heap takes a while on a busy machine: the two tests
  // below wait up to 5 s for the requests to go, and for the upgrade (20 s in all).
  /** Full collections until every request in `refs` is collected, or 5 s: how many are still alive. */
  async function alive(refs: WeakRef<IncomingMessage>[]): Promise<number> {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const deadline = Date.now() + 5000;
    for (;;) {
      gc();
      const left = refs.filter((r) => r.deref() !== undefined).length;
      if (left === 0 || Date.now() > deadline) return left;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('keeps the request by default (Socket.IO’s behaviour)', async () => {
    const client = await TestClient.connect(kept.url, 'kept-1');
    try {
      expect(isIncomingMessage(serverSocket(kept, 'kept-1').conn.request)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('lets a WebSocket connection’s request go at once, and the socket still works', async () => {
    const client = await TestClient.connect(released.url, 'ws-1');
    try {
      const socket = serverSocket(released, 'ws-1');
      expect(isIncomingMessage(socket.conn.request)).toBe(false);
      expect(socket.request.headers.cookie).toBe('uid=ws-1');
      const from = client.log.length;
      await released.service.notify('ws-1', { type: 'comment', title: 'after release' });
      await client.waitForTitle('after release', from);
    } finally {
      client.close();
    }
  });

  it('lets a WebSocket connection’s request be collected: nothing of engine.io keeps it (its upgrade response did)', async () => {
    const { refs, stop } = watchRequests(released);
    const client = await TestClient.connect(released.url, 'ws-gc');
    try {
      stop();
      expect(refs.length).toBeGreaterThan(0);
      expect(await alive(refs)).toBe(0);
      const from = client.log.length;
      await released.service.notify('ws-gc', { type: 'comment', title: 'after collection' });
      await client.waitForTitle('after collection', from);
    } finally {
      client.close();
    }
  }, 20_000);

  it('lets a polling session’s requests be collected once it upgraded (its handshake’s and its upgrade’s)', async () => {
    const { refs, stop } = watchRequests(released);
    const manager = new Manager(released.url, {
      transports: ['polling', 'websocket'],
      extraHeaders: { cookie: 'uid=poll-gc', origin: ORIGIN },
      reconnection: false,
    });
    const inbox = manager.socket('/notifications');
    try {
      await until(inbox, ServerEvent.Synced);
      const socket = serverSocket(released, 'poll-gc');
      // The server's side of the upgrade (the client's 'upgrade' may come first, or already have come).
      if (socket.conn.transport.name === 'polling') await upgraded(socket);
      stop();
      expect(refs.length).toBeGreaterThanOrEqual(2);
      expect(await alive(refs)).toBe(0);
    } finally {
      manager.engine?.close();
    }
  }, 20_000);

  it('keeps a polling session’s request until its upgrade, and a namespace joined later reads the same headers', async () => {
    // A second namespace of the host on the same engine: Socket.IO builds its handshake from the kept copy.
    const other = released.app.get(NotificationsGateway).server.server.of('/host-other');
    const cookies = new Promise<string | undefined>((resolve) => other.once('connection', (s) => resolve(s.handshake.headers.cookie)));
    const manager = new Manager(released.url, {
      transports: ['polling', 'websocket'],
      extraHeaders: { cookie: 'uid=poll-1', origin: ORIGIN },
      reconnection: false,
    });
    const inbox = manager.socket('/notifications');
    try {
      await until(inbox, ServerEvent.Synced);
      const socket = serverSocket(released, 'poll-1');
      if (socket.conn.transport.name === 'polling') {
        expect(isIncomingMessage(socket.conn.request)).toBe(true);
        await upgraded(socket);
      }
      expect(socket.conn.transport.name).toBe('websocket');
      expect(isIncomingMessage(socket.conn.request)).toBe(false);
      const second = manager.socket('/host-other');
      await until(second, 'connect');
      expect(await cookies).toBe('uid=poll-1');
      expect(serverSocket(released, 'poll-1').handshake.headers.origin).toBe(ORIGIN);
    } finally {
      manager.engine?.close();
    }
  });
});
