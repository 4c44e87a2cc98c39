import type { Socket } from 'socket.io-client';
import type { AckError, ClientToServerEvents, ErrorCode, ServerToClientEvents } from '../protocol';
import { ServerEvent } from '../protocol';
import type { ConnectionState, InboxEvents, TransportState } from './inbox-events';
import { InboxError } from './inbox.errors';
import type { TypedEmitter } from './typed-emitter';

export type InboxSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

type Requests = keyof ClientToServerEvents;
export type RequestPayload<E extends Requests> = Parameters<ClientToServerEvents[E]>[0];
export type RequestResult<E extends Requests> = Exclude<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0], AckError>;

const REFUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAUTHORIZED', 'FORBIDDEN']);

/**
 * The socket's life as the page sees it (`state`, `transport`) and the requests sent on it, each
 * answered by an acknowledgement in time or rejected with an `InboxError`.
 */
export class Connection {
  private current: ConnectionState = 'disconnected';
  private transportState: TransportState | null = null;
  private opened = 0;

  constructor(
    private readonly socket: InboxSocket,
    private readonly timeout: number,
    private readonly events: TypedEmitter<InboxEvents>,
  ) {
    this.listen();
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The open connection's transport; `null` while there is none. */
  get transport(): TransportState | null {
    return this.transportState;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** Connections opened so far: a request made while disconnected goes out on the next one. */
  get connections(): number {
    return this.opened;
  }

  connect(): void {
    if (this.socket.connected || this.socket.active) return;
    this.setState('connecting');
    this.socket.connect();
  }

  /** Disconnects for good, until `connect()`. */
  close(): void {
    this.socket.disconnect();
    this.setState('disconnected');
  }

  /**
   * Closes and connects again (e.g. in another scope, once `between` has run). Resolves once
   * connected and caught up; rejects with the `InboxError` of a refusal.
   */
  reconnect(between: () => void): Promise<void> {
    const reconnected = new Promise<void>((resolve, reject) => {
      const stop = this.events.on('state', (state, error) => {
        if (state === 'connected') resolve();
        else if (state === 'unauthorized') reject(error);
        else return;
        stop();
      });
    });
    this.close();
    between();
    this.connect();
    return reconnected;
  }

  /** The server's catch-up is over: `connected` means caught up. */
  caughtUp(): void {
    this.setState('connected');
  }

  /** Runs `listener` on every new connection, before its catch-up arrives. */
  onConnect(listener: () => void): void {
    this.socket.on('connect', listener);
  }

  on<E extends keyof ServerToClientEvents>(event: E, listener: ServerToClientEvents[E]): void {
    // The generic event defeats socket.io's parameter inference; the listener has the event's type.
    (this.socket.on as (e: E, l: ServerToClientEvents[E]) => void).call(this.socket, event, listener);
  }

  /** Emits with an acknowledgement; an `{ error }` ack or no ack in time rejects with an `InboxError`. */
  async request<E extends Requests>(event: E, payload: RequestPayload<E>): Promise<RequestResult<E>> {
    let answer: RequestResult<E> | AckError;
    try {
      // The generic event defeats socket.io's parameter inference; `RequestPayload<E>` is the same type.
      const timed = this.socket.timeout(this.timeout);
      const emit = timed.emitWithAck as (e: E, p: RequestPayload<E>) => Promise<RequestResult<E> | AckError>;
      answer = await emit.call(timed, event, payload);
    } catch {
      if (!this.socket.connected) throw new InboxError('UNAVAILABLE', `not connected: '${event}' was not answered`);
      throw new InboxError('TIMEOUT', `no answer to '${event}' within ${this.timeout} ms`);
    }
    if (answer && typeof answer === 'object' && 'error' in answer) {
      throw new InboxError(answer.error.code, answer.error.message);
    }
    return answer as RequestResult<E>;
  }

  private listen(): void {
    const { socket } = this;
    socket.io.on('open', () => {
      const engine = socket.io.engine;
      this.setTransport({ name: engine.transport.name });
      engine.on('upgrade', (transport) => this.setTransport({ name: transport.name }));
      engine.on('upgradeError', () => this.setTransport({ name: engine.transport.name, reason: 'upgrade-failed' }));
    });
    socket.io.on('close', () => (this.transportState = null));
    socket.on('connect', () => void this.opened++);
    socket.on(ServerEvent.Error, () => {
      // The catch-up failed on the server: drop the transport so the manager reconnects with backoff.
      socket.io.engine?.close();
    });
    socket.on('disconnect', () => this.setState(socket.active ? 'connecting' : 'disconnected'));
    socket.on('connect_error', (err: Error & { data?: { code?: ErrorCode } }) => {
      const code = err.data?.code;
      if (code && REFUSED.has(code)) this.setState('unauthorized', new InboxError(code, err.message));
      else this.setState(socket.active ? 'connecting' : 'disconnected');
    });
  }

  private setState(state: ConnectionState, error?: InboxError): void {
    if (state === this.current && !error) return;
    this.current = state;
    this.events.emit('state', state, error);
  }

  private setTransport(transport: TransportState): void {
    this.transportState = transport;
    this.events.emit('transport', transport);
  }
}
