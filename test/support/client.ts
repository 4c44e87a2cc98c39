import { ClientEvent, ServerEvent, type ListPage, type NotificationPayload, type ServerToClientEvents } from 'nestjs-inbox';
import { io, type Socket } from 'socket.io-client';
import { ORIGIN } from './app';

type EventName = keyof ServerToClientEvents;
/** `badge`: a `notification`'s second argument, the badge a client that set `inlineBadge` gets with it. */
type Recorded = { event: string; payload: any; badge?: { count: number; unseen: number } };

export interface ConnectOptions {
  cursor?: string;
  /** `auth.held`: ids the client holds below its cursor. */
  held?: unknown;
  /** `auth.scope`: the scope the socket works in (absent: unscoped). */
  scope?: unknown;
  /** `auth.inlineBadge`: the client takes a notification's badge as its second argument. */
  inlineBadge?: boolean;
  origin?: string | null;
  cookie?: string | null;
  namespace?: string;
  transports?: ('websocket' | 'polling')[];
}

/**
 * A real socket.io-client connection that records everything the server sends, so tests wait
 * for an event (with a timeout) instead of sleeping.
 */
export class TestClient {
  readonly log: Recorded[] = [];

  private readonly waiters = new Set<() => void>();

  private constructor(readonly socket: Socket) {
    socket.onAny((event, payload, badge) => this.record(event, payload, badge));
    socket.on('disconnect', (reason) => this.record('disconnect', reason));
    socket.on('connect_error', (err) => this.record('connect_error', err));
  }

  private record(event: string, payload: unknown, badge?: Recorded['badge']): void {
    this.log.push(badge === undefined ? { event, payload } : { event, payload, badge });
    for (const wake of this.waiters) wake();
  }

  /** Connects as `userId` and resolves once the catch-up is over (`notifications:synced`). */
  static async connect(url: string, userId: string | null, opts: ConnectOptions = {}): Promise<TestClient> {
    const client = TestClient.open(url, userId, opts);
    await client.waitFor(ServerEvent.Synced);
    return client;
  }

  /** Opens a connection without waiting for anything. */
  static open(url: string, userId: string | null, opts: ConnectOptions = {}): TestClient {
    const headers: Record<string, string> = {};
    const cookie = opts.cookie !== undefined ? opts.cookie : userId === null ? null : `uid=${encodeURIComponent(userId)}`;
    if (cookie) headers.cookie = cookie;
    const origin = opts.origin === undefined ? ORIGIN : opts.origin;
    if (origin) headers.origin = origin;
    const socket = io(`${url}${opts.namespace ?? '/notifications'}`, {
      transports: opts.transports ?? ['websocket'],
      extraHeaders: headers,
      auth: {
        ...(opts.cursor ? { cursor: opts.cursor } : {}),
        ...(opts.held !== undefined ? { held: opts.held } : {}),
        ...(opts.scope !== undefined ? { scope: opts.scope } : {}),
        ...(opts.inlineBadge !== undefined ? { inlineBadge: opts.inlineBadge } : {}),
      },
      reconnection: false,
      forceNew: true,
    });
    return new TestClient(socket);
  }

  /** Rejects with the server's `connect_error`, or fails if the socket connects. */
  static refusal(url: string, userId: string | null, opts: ConnectOptions = {}): Promise<Error & { data?: any }> {
    const client = TestClient.open(url, userId, opts);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('neither connected nor refused within 5 s')), 5000);
      client.socket.on('connect_error', (err) => {
        clearTimeout(timer);
        client.close();
        resolve(err);
      });
      client.socket.on('connect', () => {
        clearTimeout(timer);
        client.close();
        reject(new Error('the connection was accepted'));
      });
    });
  }

  get notifications(): NotificationPayload[] {
    return this.log.filter((e) => e.event === ServerEvent.Notification).map((e) => e.payload);
  }

  /** Index in the log from which `waitFor` looks; take it before the action that causes the event. */
  mark(): number {
    return this.log.length;
  }

  /** The first `event` at or after `from` whose payload satisfies `match`, within `timeoutMs`. */
  waitFor<T = any>(
    event: EventName | 'connect_error' | 'disconnect',
    match: (payload: T) => boolean = () => true,
    { from = 0, timeoutMs = 5000 } = {},
  ): Promise<T> {
    const find = () => this.log.slice(from).find((e) => e.event === event && match(e.payload));
    const found = find();
    if (found) return Promise.resolve(found.payload);
    return new Promise((resolve, reject) => {
      const wake = () => {
        const hit = find();
        if (!hit) return;
        done();
        resolve(hit.payload);
      };
      const timer = setTimeout(() => {
        done();
        const seen = JSON.stringify(this.log.slice(from).map((e) => [e.event, e.payload]));
        reject(new Error(`no '${event}' matching within ${timeoutMs} ms; saw: ${seen.slice(0, 600)}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
      };
      this.waiters.add(wake);
    });
  }

  /** Waits for the notification with this title. */
  waitForTitle(title: string, from = 0): Promise<NotificationPayload> {
    return this.waitFor<NotificationPayload>(ServerEvent.Notification, (n) => n.title === title, { from });
  }

  /** Emits a client event and resolves with its acknowledgement. */
  request<T = any>(event: string, payload?: unknown): Promise<T> {
    const socket = this.socket.timeout(5000);
    return (payload === undefined ? socket.emitWithAck(event) : socket.emitWithAck(event, payload)) as Promise<T>;
  }

  list(query: object = {}): Promise<ListPage> {
    return this.request<ListPage>(ClientEvent.List, query);
  }

  close(): void {
    this.socket.disconnect();
  }
}
