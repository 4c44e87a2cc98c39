import { io, ManagerOptions, Socket, SocketOptions } from 'socket.io-client';
import {
  ClientEvent,
  DEFAULT_NAMESPACE,
  ServerEvent,
  type AckError,
  type Action,
  type ClientToServerEvents,
  type ErrorCode,
  type Filter,
  type ListPage,
  type ListQuery,
  type NotificationPayload,
  type Preferences,
  type ReadPayload,
  type Selection,
  type ServerToClientEvents,
  type StateChange,
  type StatePayload,
  type StateResult,
  type SyncedPayload,
  type PreferencesUpdate,
} from '../protocol';
import { CursorStorage, PersistedCursor } from './cursor-storage';
import { Cursor } from './cursor';
import { InboxError } from './inbox.errors';
import type { ConnectionState, InboxEvents, TransportState } from './inbox-events';
import {
  applyRead,
  applyState,
  inView,
  matchesFilter,
  mayEnterView,
  mergeNotifications,
  pageWithSafeLinks,
  reconcileNewestPage,
  withSafeLinks,
} from './notification-list';
import { TypedEmitter } from './typed-emitter';

/** Notifications named by id (one or several), or every notification of the user a filter selects. */
export type InboxSelection = string | readonly string[] | Filter;

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

type StateEvent = typeof ClientEvent.Seen | typeof ClientEvent.Archive | typeof ClientEvent.Unarchive | typeof ClientEvent.Delete;

const REFUSED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['UNAUTHORIZED', 'FORBIDDEN']);

/**
 * The browser side of nestjs-inbox. Holds one view of the user's notifications (the inbox, or
 * what `list(filter)` selects) newest first without duplicates and in step with every tab and
 * device; the unread and unseen counts and the watched views' counts; and the cursor (the newest
 * id received) that every (re)connect sends, so the server's catch-up resumes exactly where this
 * client stopped.
 */
export class InboxClient {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly events = new TypedEmitter<InboxEvents>();
  private readonly cursor: Cursor;
  private readonly pageSize: number;
  private readonly timeout: number;
  private items: NotificationPayload[] = [];
  /** The view `notifications` holds (`list(filter)`); `{}` is the default inbox. */
  private filter: Filter = {};
  /** While a newest page is being read: the ids pushed meanwhile, which that page may not list yet. */
  private arrived: Set<string> | null = null;
  /** Whether what is held below the coming newest page is a run of the view without gaps (kept) or not (dropped). */
  private olderContiguous = true;
  private unreadCount = 0;
  private unseenCount = 0;
  /** The views `watchCounts` watches, sent again on every (re)connect; `null` for none. */
  private watched: Record<string, Filter> | null = null;
  /** The connection the last `watchCounts` request went (or, buffered, goes) out on. */
  private watchedOn = -1;
  /** Counts the socket's connections. */
  private connections = 0;
  private viewCounts: Readonly<Record<string, number>> = {};
  private connection: ConnectionState = 'disconnected';
  private transportState: TransportState | null = null;
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
    const { persistCursor: keep } = options;
    // `localStorage` is read only when asked for: in a sandboxed frame reading it throws.
    this.cursor = new Cursor(keep && new PersistedCursor(keep.storage ?? globalThis.localStorage, namespace, keep.userId));
    this.socket = io(`${options.url ?? ''}${namespace}`, {
      withCredentials: true,
      ...options.socket,
      autoConnect: false,
      // A function is read on every attempt, so each reconnect sends the cursor as it is then,
      // and the ids held just below it, which the server's catch-up then does not resend.
      auth: (cb) => cb(this.cursor.handshake(this.items)),
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

  /** The user's unseen count, for the bell's badge; `markSeen` what the inbox showed. */
  get unseen(): number {
    return this.unseenCount;
  }

  /** The view `notifications` holds: the filter of the last `list()`, `{}` for the inbox. */
  get view(): Readonly<Filter> {
    return this.filter;
  }

  /** The watched views' counts, by name (see `watchCounts`). */
  get counts(): Readonly<Record<string, number>> {
    return this.viewCounts;
  }

  get state(): ConnectionState {
    return this.connection;
  }

  /** The open connection's transport, and why it stayed on polling; `null` while there is none. */
  get transport(): TransportState | null {
    return this.transportState;
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

  /**
   * Shows another view: `notifications` becomes the newest page of the notifications `filter`
   * selects (default: the inbox, neither archived nor deleted), kept in step as they change;
   * `loadMore` pages it. Resolves with `hasMore` once the page is in.
   */
  async list(filter: Filter = {}): Promise<boolean> {
    this.filter = { ...filter };
    // Until the page comes, the held ones that fit the view; gaps among them go when it does.
    this.restart(inView(this.items, this.filter), false);
    return this.loadMore();
  }

  /** Loads the next older page of the view; resolves with whether there are more. */
  async loadMore(): Promise<boolean> {
    while (this.paging) await this.paging.catch(() => undefined);
    if (this.nextCursor === null) return false;
    const before = this.nextCursor;
    const epoch = this.epoch;
    const first = before === undefined;
    if (first) this.arrived ??= new Set();
    this.paging = this.request(ClientEvent.List, this.listQuery(before))
      .then(pageWithSafeLinks)
      .then((page: ListPage) => {
        if (epoch !== this.epoch) return;
        this.nextCursor = page.nextCursor;
        if (first) this.takeNewestPage(page, this.olderContiguous);
        else this.merge(page.items, true); // `hasMore` may have changed even if the list did not
      })
      .finally(() => (this.paging = null));
    await this.paging;
    return this.hasMore;
  }

  /** Marks notifications read for this user on every tab and device; resolves with the unread count. */
  async markRead(ids: string | readonly string[]): Promise<number> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    const answer = await this.request(ClientEvent.Read, { ids: list });
    this.applyRead({ ids: list }, answer.unread, answer.unseen);
    return answer.unread;
  }

  async markAllRead(): Promise<number> {
    const answer = await this.request(ClientEvent.ReadAll, {});
    this.applyRead({ all: true }, answer.unread, answer.unseen);
    return answer.unread;
  }

  /**
   * Marks notifications seen (what the inbox showed, e.g. `{ state: 'unseen' }` when it opens),
   * for this user on every tab and device. Ids, one id, or a filter.
   */
  markSeen(selection: InboxSelection): Promise<StateResult> {
    return this.changeState(ClientEvent.Seen, 'seen', selection);
  }

  /** Archives notifications: out of the default view, still listed with `{ state: 'archived' }`. */
  archive(selection: InboxSelection): Promise<StateResult> {
    return this.changeState(ClientEvent.Archive, 'archived', selection);
  }

  /** Brings archived notifications back to the inbox. */
  unarchive(selection: InboxSelection): Promise<StateResult> {
    return this.changeState(ClientEvent.Unarchive, 'unarchived', selection);
  }

  /** Deletes notifications for this user (a broadcast or publication stays for everyone else). */
  remove(selection: InboxSelection): Promise<StateResult> {
    return this.changeState(ClientEvent.Delete, 'deleted', selection);
  }

  /**
   * Snoozes notifications until `until` (at least the server's `minSnoozeMs` away, a minute by
   * default, by the server's clock; within a year): they leave every view, and come back then as
   * new notifications (a new id, unseen and unread), pushed like any other. A user has at most
   * `maxSnoozed` (1000) pending: one that would make more is refused and snoozes nothing.
   */
  async snooze(ids: string | readonly string[], until: Date | string): Promise<StateResult> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    const at = typeof until === 'string' ? until : until.toISOString();
    const result = await this.request(ClientEvent.Snooze, { ids: list, until: at });
    this.applyState({ ids: list, change: 'snoozed' });
    this.setBadges(result.unread, result.unseen);
    return result;
  }

  /**
   * Watches named views' counts, e.g. `{ all: {}, unread: { state: 'unread' }, mentions: { type:
   * 'mention' } }`: each view's unread notifications (unseen ones for `state: 'unseen'`). Resolves
   * with them; afterwards `counts` and the `counts` event follow every change, across reconnects.
   * A new call replaces the watched views; `{}` stops. At most `MAX_VIEWS` (20).
   */
  async watchCounts(views: Record<string, Filter>): Promise<Readonly<Record<string, number>>> {
    this.watched = Object.keys(views).length ? { ...views } : null;
    const watched = this.watched;
    // A request made while disconnected is buffered and goes out with the next connection.
    this.watchedOn = this.socket.connected ? this.connections : this.connections + 1;
    const { counts } = await this.request(ClientEvent.Counts, { views: { ...views } });
    if (this.watched === watched) this.setCounts(counts, true);
    return this.viewCounts;
  }

  /** What the user has muted. */
  getPreferences(): Promise<Preferences> {
    return this.request(ClientEvent.PreferencesGet, {});
  }

  /**
   * Mutes types and topics: their notifications are still stored and listed, but neither pushed
   * live nor counted. Rejects with `FORBIDDEN` for a type the host does not let users mute.
   * Resolves with the preferences as stored.
   */
  setPreferences(preferences: PreferencesUpdate): Promise<Preferences> {
    // The server takes either list on its own (the one left out stays as it is).
    return this.request(ClientEvent.PreferencesSet, preferences);
  }

  /**
   * Runs an action of a notification: emits the `action` event (the page handles an action's
   * `event`; follow its `url` as a link) and marks the notification read.
   */
  async act(notification: NotificationPayload, action: Action): Promise<void> {
    this.events.emit('action', action, notification);
    if (!notification.readAt) await this.markRead(notification.id);
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
    socket.io.on('open', () => {
      const engine = socket.io.engine;
      this.setTransport({ name: engine.transport.name });
      engine.on('upgrade', (transport) => this.setTransport({ name: transport.name }));
      engine.on('upgradeError', () => this.setTransport({ name: engine.transport.name, reason: 'upgrade-failed' }));
    });
    socket.io.on('close', () => (this.transportState = null));
    socket.on('connect', () => {
      this.connections++;
      this.caughtUp = [];
    });
    // Links are checked again before anything reaches the page (see withSafeLinks).
    socket.on(ServerEvent.Notification, (n) => this.pushed(withSafeLinks(n)));
    socket.on(ServerEvent.Synced, (p) => void this.synced(p));
    socket.on(ServerEvent.Unread, (p) => this.setBadges(p.count, p.unseen));
    socket.on(ServerEvent.Read, (read) => this.applyRead(read));
    socket.on(ServerEvent.State, (state) => this.applyState(state));
    socket.on(ServerEvent.Counts, ({ counts }) => this.setCounts(counts, false));
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

  /** A notification the server pushed, live or in the catch-up: received whatever the view, held if in it. */
  private pushed(n: NotificationPayload): void {
    this.caughtUp?.push(n);
    const known = this.cursor.hasReceived(n.id) || this.items.some((x) => x.id === n.id);
    this.cursor.receive(n.id);
    this.arrived?.add(n.id);
    if (matchesFilter(n, this.filter)) this.merge([n]);
    if (!known) this.events.emit('notification', n);
  }

  private async synced(p: SyncedPayload): Promise<void> {
    const { unread, truncated } = p;
    // Resume from where this catch-up ended, even if nothing reached this client.
    if (p.cursor) this.cursor.move(p.cursor);
    this.setBadges(unread, p.unseen);
    this.setState('connected');
    if (truncated) {
      // More was missed than the catch-up sends: what was held before is behind a gap, so keep
      // only this catch-up and page down from the newest again.
      this.restart(inView(mergeNotifications([], this.caughtUp ?? []).items, this.filter), true);
    }
    this.caughtUp = null;
    // The server forgets a socket's watched views with the socket: watch them again.
    if (this.watched && this.watchedOn !== this.connections) void this.watchCounts(this.watched).catch(() => undefined);
    if (this.nextCursor === undefined) await this.loadMore().catch(() => undefined);
    else await this.refreshNewest().catch(() => undefined);
  }

  /**
   * Starts the view over from its newest page, holding `items` until that page comes; those
   * below it are kept then if `contiguous` (no notification of the view missing between them).
   */
  private restart(items: NotificationPayload[], contiguous: boolean): void {
    this.epoch++;
    this.nextCursor = undefined;
    this.arrived = new Set();
    this.olderContiguous = contiguous;
    if (items !== this.items) {
      this.items = items;
      this.events.emit('change', items);
    }
  }

  /**
   * After a reconnect: changes made elsewhere while away are not replayed, so re-read the
   * newest page; held ones it shows have left the view are dropped, older pages are kept.
   */
  private async refreshNewest(): Promise<void> {
    const epoch = this.epoch;
    this.arrived ??= new Set();
    const page = pageWithSafeLinks(await this.request(ClientEvent.List, this.listQuery(undefined)));
    if (epoch === this.epoch) this.takeNewestPage(page, true);
  }

  private listQuery(before: string | undefined): ListQuery {
    const query: ListQuery = { limit: this.pageSize };
    if (before) query.before = before;
    if (Object.keys(this.filter).length) query.filter = { ...this.filter };
    return query;
  }

  private takeNewestPage(page: ListPage, keepOlder: boolean): void {
    const items = reconcileNewestPage(this.items, page, this.arrived ?? new Set(), keepOlder);
    this.arrived = null;
    this.olderContiguous = true;
    this.setItems(inView(items, this.filter), true);
  }

  /** Merges, moves the cursor (for the inbox view, whose pages have no gaps), reports the change (or always). */
  private merge(incoming: readonly NotificationPayload[], always = false): void {
    this.setItems(inView(mergeNotifications(this.items, incoming).items, this.filter), always);
  }

  private setItems(items: NotificationPayload[], always = false): void {
    if (items === this.items || (items.length === this.items.length && items.every((n, i) => n === this.items[i]))) {
      if (always) this.events.emit('change', this.items);
      return;
    }
    this.items = items;
    // Only the inbox view moves the cursor: a filtered page skips what it does not select, which
    // the catch-up after a reconnect must still send.
    if (!Object.keys(this.filter).length) this.cursor.move(items[0]?.id);
    this.events.emit('change', items);
  }

  private applyRead(read: ReadPayload, unread?: number, unseen?: number): void {
    this.setItems(inView(applyRead(this.items, read, new Date().toISOString()), this.filter));
    if (unread !== undefined) this.setBadges(unread, unseen);
    this.rereadIfEntered('read', 'all' in read ? null : read.ids);
  }

  /** A state change made here or elsewhere (`notifications:state`). */
  private applyState(state: StatePayload): void {
    this.setItems(inView(applyState(this.items, state, new Date().toISOString()), this.filter));
    this.rereadIfEntered(state.change, 'ids' in state ? state.ids : null);
  }

  /**
   * Reads the view again when a change brought into it notifications this client does not hold
   * (`ids`: those it named; `null`: a filter or all, which may have).
   */
  private rereadIfEntered(change: StateChange, ids: readonly string[] | null): void {
    if (!mayEnterView(change, this.filter)) return;
    const held = new Set(this.items.map((n) => n.id));
    if (ids === null || ids.some((id) => !held.has(id))) void this.list(this.filter).catch(() => undefined);
  }

  private async changeState(event: StateEvent, change: StateChange, selection: InboxSelection): Promise<StateResult> {
    const target: Selection =
      typeof selection === 'string'
        ? { ids: [selection] }
        : Array.isArray(selection)
          ? { ids: [...(selection as readonly string[])] }
          : { filter: { ...(selection as Filter) } };
    const result = await this.request(event, target);
    this.applyState({ ...target, change });
    this.setBadges(result.unread, result.unseen);
    return result;
  }

  private setBadges(unread: number, unseen?: number): void {
    if (unread !== this.unreadCount) {
      this.unreadCount = unread;
      this.events.emit('unread', unread);
    }
    if (typeof unseen === 'number' && unseen !== this.unseenCount) {
      this.unseenCount = unseen;
      this.events.emit('unseen', unseen);
    }
  }

  /** From the ack (`replace`: the watched set is new) or a push, which names only watched views. */
  private setCounts(counts: Record<string, number>, replace: boolean): void {
    const watched = this.watched ?? {};
    const next: Record<string, number> = replace ? {} : { ...this.viewCounts };
    for (const [name, count] of Object.entries(counts)) if (name in watched) next[name] = count;
    const names = new Set([...Object.keys(next), ...Object.keys(this.viewCounts)]);
    if ([...names].every((name) => next[name] === this.viewCounts[name])) return;
    this.viewCounts = next;
    this.events.emit('counts', next);
  }

  private setState(state: ConnectionState, error?: InboxError): void {
    if (state === this.connection && !error) return;
    this.connection = state;
    this.events.emit('state', state, error);
  }

  private setTransport(transport: TransportState): void {
    this.transportState = transport;
    this.events.emit('transport', transport);
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
