import { ClientEvent, ServerEvent } from '../protocol';
import { Connection, type InboxSocket } from './connection';
import type { ConnectionState, InboxEvents, TransportState } from './inbox-events';
import { InboxError } from './inbox.errors';
import { TypedEmitter } from './typed-emitter';

type Listener = (...args: any[]) => void;

class FakeEmitter {
  private readonly listeners = new Map<string, Listener[]>();

  on(event: string, listener: Listener): this {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener]);
    return this;
  }

  fire(event: string, ...args: unknown[]): void {
    for (const listener of this.listeners.get(event) ?? []) listener(...args);
  }
}

class FakeEngine extends FakeEmitter {
  transport = { name: 'polling' };
  closed = 0;

  close(): void {
    this.closed++;
  }
}

/**
 * The part of a socket.io-client `Socket` a `Connection` uses, driven by hand: `open`, `accept`,
 * `drop` and `refuse` play the manager's events; `answer` plays the server's acknowledgements.
 */
class FakeSocket extends FakeEmitter {
  connected = false;
  active = false;
  connectCalls = 0;
  readonly io = Object.assign(new FakeEmitter(), { engine: new FakeEngine() });
  readonly sent: { event: string; payload: unknown; timeout: number }[] = [];
  answer: (event: string, payload: unknown) => Promise<unknown> = () => new Promise(() => undefined);

  connect(): void {
    this.connectCalls++;
    this.active = true;
  }

  disconnect(): void {
    this.active = false;
    this.drop();
  }

  timeout(ms: number) {
    return {
      emitWithAck: (event: string, payload: unknown) => {
        this.sent.push({ event, payload, timeout: ms });
        return this.answer(event, payload);
      },
    };
  }

  open(transport = 'polling'): void {
    this.io.engine.transport.name = transport;
    this.io.fire('open');
  }

  accept(): void {
    this.connected = true;
    this.fire('connect');
  }

  drop(): void {
    this.connected = false;
    this.fire('disconnect', 'transport close');
  }

  refuse(message: string, code?: string): void {
    this.fire('connect_error', Object.assign(new Error(message), code ? { data: { code } } : {}));
  }
}

function setup(timeout = 1000) {
  const socket = new FakeSocket();
  const events = new TypedEmitter<InboxEvents>();
  const states: [ConnectionState, InboxError | undefined][] = [];
  const transports: TransportState[] = [];
  events.on('state', (state, error) => states.push([state, error]));
  events.on('transport', (t) => transports.push(t));
  const connection = new Connection(socket as unknown as InboxSocket, timeout, events);
  return { socket, connection, states, transports };
}

describe('Connection', () => {
  it('connects once: connect() while connecting or connected does nothing', () => {
    const { socket, connection, states } = setup();
    connection.connect();
    connection.connect();
    expect(socket.connectCalls).toBe(1);
    socket.accept();
    connection.connect();
    expect(socket.connectCalls).toBe(1);
    expect(states).toEqual([['connecting', undefined]]);
  });

  it('is connected only once caught up, connecting again while the manager reconnects', () => {
    const { socket, connection, states } = setup();
    connection.connect();
    socket.accept();
    expect(connection.state).toBe('connecting');
    connection.caughtUp();
    expect(connection.state).toBe('connected');
    socket.drop(); // the manager stays active and reconnects
    expect(connection.state).toBe('connecting');
    expect(states.map(([s]) => s)).toEqual(['connecting', 'connected', 'connecting']);
  });

  it('close() disconnects for good', () => {
    const { socket, connection } = setup();
    connection.connect();
    socket.accept();
    connection.caughtUp();
    connection.close();
    expect(socket.active).toBe(false);
    expect(connection.state).toBe('disconnected');
    expect(connection.connected).toBe(false);
  });

  it('counts connections, and runs onConnect listeners after the count moved', () => {
    const { socket, connection } = setup();
    const seen: number[] = [];
    connection.onConnect(() => seen.push(connection.connections));
    expect(connection.connections).toBe(0);
    socket.accept();
    socket.drop();
    socket.accept();
    expect(seen).toEqual([1, 2]);
  });

  it('reports a refused handshake as unauthorized with the code, every time', () => {
    const { socket, connection, states } = setup();
    connection.connect();
    socket.refuse('no session', 'UNAUTHORIZED');
    socket.refuse('no session', 'UNAUTHORIZED');
    expect(connection.state).toBe('unauthorized');
    expect(states.slice(1).map(([s, e]) => [s, e?.code, e?.message])).toEqual([
      ['unauthorized', 'UNAUTHORIZED', 'no session'],
      ['unauthorized', 'UNAUTHORIZED', 'no session'],
    ]);
    expect(states[1][1]).toBeInstanceOf(InboxError);
  });

  it('treats any other connect error as a network one: connecting while the manager retries, else disconnected', () => {
    const { socket, connection, states } = setup();
    connection.connect();
    socket.refuse('xhr poll error');
    expect(connection.state).toBe('connecting');
    socket.refuse('too many', 'TOO_MANY_CONNECTIONS');
    expect(connection.state).toBe('connecting');
    socket.active = false; // the manager gave up
    socket.refuse('xhr poll error');
    expect(connection.state).toBe('disconnected');
    expect(states.every(([, error]) => error === undefined)).toBe(true);
  });

  it('follows the transport: opened, upgraded, an upgrade that failed, closed', () => {
    const { socket, connection, transports } = setup();
    expect(connection.transport).toBeNull();
    socket.open('polling');
    socket.io.engine.fire('upgradeError', new Error('websocket error'));
    socket.io.engine.transport.name = 'websocket';
    socket.io.engine.fire('upgrade', { name: 'websocket' });
    expect(transports).toEqual([{ name: 'polling' }, { name: 'polling', reason: 'upgrade-failed' }, { name: 'websocket' }]);
    expect(connection.transport).toEqual({ name: 'websocket' });
    socket.io.fire('close');
    expect(connection.transport).toBeNull();
  });

  it('drops the transport when the server reports a failed catch-up, so the manager reconnects', () => {
    const { socket } = setup();
    socket.open();
    socket.fire(ServerEvent.Error, { code: 'UNAVAILABLE', message: 'catch-up failed' });
    expect(socket.io.engine.closed).toBe(1);
  });

  it('hands server events to on() listeners', () => {
    const { socket, connection } = setup();
    const got: unknown[] = [];
    connection.on(ServerEvent.Unread, (p) => got.push(p));
    socket.fire(ServerEvent.Unread, { count: 3, unseen: 1 });
    expect(got).toEqual([{ count: 3, unseen: 1 }]);
  });

  it('resolves a request with its acknowledgement, sent with the timeout', async () => {
    const { socket, connection } = setup(2500);
    socket.answer = async () => ({ ok: true });
    await expect(connection.request(ClientEvent.Subscribe, { topic: 't' })).resolves.toEqual({ ok: true });
    expect(socket.sent).toEqual([{ event: ClientEvent.Subscribe, payload: { topic: 't' }, timeout: 2500 }]);
  });

  it('rejects an { error } acknowledgement with an InboxError carrying its code and message', async () => {
    const { socket, connection } = setup();
    socket.answer = async () => ({ error: { code: 'FORBIDDEN', message: 'not yours' } });
    const err = await connection.request(ClientEvent.Subscribe, { topic: 't' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InboxError);
    expect(err).toMatchObject({ code: 'FORBIDDEN', message: 'not yours' });
  });

  it('rejects a request left unanswered: TIMEOUT while connected, UNAVAILABLE while not', async () => {
    const { socket, connection } = setup(1500);
    socket.answer = () => Promise.reject(new Error('operation has timed out'));
    socket.accept();
    await expect(connection.request(ClientEvent.ReadAll, {})).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: `no answer to '${ClientEvent.ReadAll}' within 1500 ms`,
    });
    socket.drop();
    await expect(connection.request(ClientEvent.ReadAll, {})).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: `not connected: '${ClientEvent.ReadAll}' was not answered`,
    });
  });
});
