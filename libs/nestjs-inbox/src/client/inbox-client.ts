import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import {
  ClientEvent,
  DEFAULT_NAMESPACE,
  MAX_HELD_IDS,
  ServerEvent,
  type AckError,
  type ClientToServerEvents,
  type ErrorCode,
  type ListPage,
  type NotificationPayload,
  type ReadPayload,
  type ServerToClientEvents,
  type SyncedPayload,
} from '../protocol';
import { CursorStorage, PersistedCursor } from './cursor-storage';
import { InboxError } from './inbox.errors';
import { applyRead, compareIds, maxId, mergeNotifications } from './notification-list';
import { TypedEmitter } from './typed-emitter';

/** `connected` means caught up: the server's catch-up is over and new notifications arrive live. */
export type ConnectionState = 'connecting' | 'connected' | 'disconnected' | 'unauthorized';

export interface InboxEvents {
  /** The list changed: added, read, or a page loaded. */
  change: (notifications: readonly NotificationPayload[]) => void;
  /** A notification the server pushed that this client did not hold (live or in the catch-up). */
  notification: (notification: NotificationPayload) => void;
  unread: (count: number) => void;
  /** `error` is set when the server refused the connection. */
  state: (state: ConnectionState, error?: InboxError) => void;
}

export interface InboxOptions {
  /** Origin of the server; default: the page's own origin. */
  url?: string;
  /** Socket.IO namespace of the gateway; default `/notifications`. */
  namespace?: string;
  /** Page size of `loadMore`; default 20. */
  pageSize?: number;
  /** Milliseconds to wait for an acknowledgement; default 10 000. */
  timeout?: number;
  /** Keep the cursor across page loads, per user: give the signed-in user's id. */
  persistCursor?: { userId: string; storage?: CursorStorage };
  /** Connect at once; default `true`. */
  autoConnect?: boolean;
  /** Passed to socket.io-client (`path`, `transports`, …); the client sets `auth` itself. */
  socket?: Partial<ManagerOptions & SocketOptions>;
}

type Events = keyof ClientToServerEvents;
type Payload<E extends Events> = Parameters<ClientToServerEvents[E]>[0];
type Result<E extends Events> = Exclude<Parameters<Parameters<ClientToServerEvents[E]>[1]>[0], AckError>;

const REFUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAUTHORIZED', 'FORBIDDEN']);

/**
 * The browser side of nestjs-inbox. Holds the user's notifications newest first without
 * duplicates, the unread count, and the cursor (the newest id held) that every (re)connect sends,
 * so the server's catch-up resumes exactly where this client stopped.
 */
export class InboxClient {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly events = new TypedEmitter<InboxEvents>();
  private readonly persisted?: PersistedCursor;
  private readonly pageSize: number;
  private readonly timeout: number;
  private items: NotificationPayload[] = [];
  private unreadCount = 0;
  private connection: ConnectionState = 'disconnected';
  private cursor: string | undefined;
  /** `before` of the next older page: `undefined` before the first page, `null` after the last. */
  private nextCursor: string | null | undefined;
  private paging: Promise<void> | null = null;
  /** Bumped when the held list restarts, so a page requested before that is discarded. */
  private epoch = 0;
  /** What the current connection's catch-up delivered, in case it turns out truncated; `null` once synced. */
  private caughtUp: NotificationPayload[] | null = null;

  constructor(options: InboxOptions = {}) {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    this.pageSize = options.pageSize ?? 20;
    this.timeout = options.timeout ?? 10_000;
    const { persistCursor } = options;
    if (persistCursor) {
      const storage = persistCursor.storage ?? globalThis.localStorage;
      this.persisted = new PersistedCursor(storage, namespace, persistCursor.userId);
      this.cursor = this.persisted.load();
    }
    this.socket = io(`${options.url ?? ''}${namespace}`, {
      withCredentials: true,
      ...options.socket,
      autoConnect: false,
      // A function is read on every attempt, so each reconnect sends the cursor as it is then,
      // and the ids held just below it, which the server's catch-up then does not resend.
      auth: (cb) => cb(this.cursor ? { cursor: this.cursor, held: this.heldBelow(this.cursor) } : {}),
    });
    this.listen();
    if (options.autoConnect ?? true) this.connect();
  }

  /** Newest first, one entry per id. */
  get notifications(): readonly NotificationPayload[] {
    return this.items;
  }

  get unread(): number {
    return this.unreadCount;
  }

  get state(): ConnectionState {
    return this.connection;
  }

  /** Whether `loadMore` may find older notifications. */
  get hasMore(): boolean {
    return this.nextCursor !== null;
  }

  on<K extends keyof InboxEvents>(event: K, listener: InboxEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  connect(): void {
    if (this.socket.connected || this.socket.active) return;
    this.setState('connecting');
    this.socket.connect();
  }

  /** Disconnects for good (until `connect()`), e.g. on logout. */
  close(): void {
    this.socket.disconnect();
    this.setState('disconnected');
  }

  /** Loads the next older page; resolves with whether there are more. */
  async loadMore(): Promise<boolean> {
    while (this.paging) await this.paging.catch(() => undefined);
    if (this.nextCursor === null) return false;
    const before = this.nextCursor;
    const epoch = this.epoch;
    this.paging = this.request(ClientEvent.List, { limit: this.pageSize, ...(before ? { before } : {}) })
      .then((page: ListPage) => {
        if (epoch !== this.epoch) return;
        this.nextCursor = page.nextCursor;
        this.merge(page.items, true); // `hasMore` may have changed even if the list did not
      })
      .finally(() => (this.paging = null));
    await this.paging;
    return this.hasMore;
  }

  /** Marks notifications read for this user on every tab and device; resolves with the unread count. */
  async markRead(ids: string | readonly string[]): Promise<number> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    const { unread } = await this.request(ClientEvent.Read, { ids: list });
    this.applyRead({ ids: list }, unread);
    return unread;
  }

  async markAllRead(): Promise<number> {
    const { unread } = await this.request(ClientEvent.ReadAll, {});
    this.applyRead({ all: true }, unread);
    return unread;
  }

  /** Subscribes the user to a topic (the host decides who may); rejects with `FORBIDDEN` if not allowed. */
  async subscribe(topic: string): Promise<void> {
    await this.request(ClientEvent.Subscribe, { topic });
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.request(ClientEvent.Unsubscribe, { topic });
  }

  private listen(): void {
    const { socket } = this;
    socket.on('connect', () => (this.caughtUp = []));
    socket.on(ServerEvent.Notification, (n) => {
      this.caughtUp?.push(n);
      for (const added of this.merge([n])) this.events.emit('notification', added);
    });
    socket.on(ServerEvent.Synced, (p) => void this.synced(p));
    socket.on(ServerEvent.Unread, ({ count }) => this.setUnread(count));
    socket.on(ServerEvent.Read, (read) => this.applyRead(read));
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

  private async synced({ unread, truncated }: SyncedPayload): Promise<void> {
    this.setUnread(unread);
    this.setState('connected');
    if (truncated) {
      // More was missed than the catch-up sends: what was held before is behind a gap, so keep
      // only this catch-up and page down from the newest again.
      this.items = mergeNotifications([], this.caughtUp ?? []).items;
      this.nextCursor = undefined;
      this.epoch++;
      this.events.emit('change', this.items);
    }
    this.caughtUp = null;
    if (this.nextCursor === undefined) await this.loadMore().catch(() => undefined);
    else await this.refreshNewest().catch(() => undefined);
  }

  /** The newest ids held below `cursor`, at most `MAX_HELD_IDS` (the list is newest first). */
  private heldBelow(cursor: string): string[] {
    const held: string[] = [];
    for (const n of this.items) {
      if (held.length === MAX_HELD_IDS) break;
      if (compareIds(n.id, cursor) < 0) held.push(n.id);
    }
    return held;
  }

  /** After a reconnect: reads done elsewhere while away are not replayed, so re-read the newest page. */
  private async refreshNewest(): Promise<void> {
    const page = await this.request(ClientEvent.List, { limit: this.pageSize });
    this.merge(page.items);
  }

  /** Merges, moves the cursor, reports the change (or always); returns what was new. */
  private merge(incoming: readonly NotificationPayload[], always = false): NotificationPayload[] {
    const { items, added } = mergeNotifications(this.items, incoming);
    if (items === this.items) {
      if (always) this.events.emit('change', items);
      return added;
    }
    this.items = items;
    const newest = maxId(this.cursor, items[0]?.id);
    if (newest !== this.cursor && newest !== undefined) {
      this.cursor = newest;
      this.persisted?.save(newest);
    }
    this.events.emit('change', items);
    return added;
  }

  private applyRead(read: ReadPayload, unread?: number): void {
    const items = applyRead(this.items, read, new Date().toISOString());
    if (items.some((n, i) => n !== this.items[i])) {
      this.items = items;
      this.events.emit('change', items);
    }
    if (unread !== undefined) this.setUnread(unread);
  }

  private setUnread(count: number): void {
    if (count === this.unreadCount) return;
    this.unreadCount = count;
    this.events.emit('unread', count);
  }

  private setState(state: ConnectionState, error?: InboxError): void {
    if (state === this.connection && !error) return;
    this.connection = state;
    this.events.emit('state', state, error);
  }

  /** Emits with an acknowledgement; an `{ error }` ack or no ack in time rejects with an `InboxError`. */
  private async request<E extends Events>(event: E, payload: Payload<E>): Promise<Result<E>> {
    let answer: Result<E> | AckError;
    try {
      // The generic event defeats socket.io's parameter inference; `Payload<E>` is the same type.
      const timed = this.socket.timeout(this.timeout);
      const emit = timed.emitWithAck as (e: E, p: Payload<E>) => Promise<Result<E> | AckError>;
      answer = await emit.call(timed, event, payload);
    } catch {
      if (!this.socket.connected) throw new InboxError('UNAVAILABLE', `not connected: '${event}' was not answered`);
      throw new InboxError('TIMEOUT', `no answer to '${event}' within ${this.timeout} ms`);
    }
    if (answer && typeof answer === 'object' && 'error' in answer) {
      throw new InboxError(answer.error.code, answer.error.message);
    }
    return answer as Result<E>;
  }
}

/** Creates and connects an {@link InboxClient}. */
export function createInbox(options?: InboxOptions): InboxClient {
  return new InboxClient(options);
}
