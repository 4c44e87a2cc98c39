import { io, ManagerOptions, SocketOptions } from 'socket.io-client';
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
import { Connection } from './connection';
import { Counts } from './counts';
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

type StateEvent = typeof ClientEvent.Seen | typeof ClientEvent.Archive | typeof ClientEvent.Unarchive | typeof ClientEvent.Delete;

/**
 * The browser side of nestjs-inbox. Holds one view of the user's notifications (the inbox, or
 * what `list(filter)` selects) newest first without duplicates and in step with every tab and
 * device; the unread and unseen counts and the watched views' counts; and the cursor (the newest
 * id received) that every (re)connect sends, so the server's catch-up resumes exactly where this
 * client stopped.
 */
export class InboxClient {
  private readonly connection: Connection;
  private readonly events = new TypedEmitter<InboxEvents>();
  private readonly cursor: Cursor;
  private readonly pageSize: number;
  private items: NotificationPayload[] = [];
  /** The view `notifications` holds (`list(filter)`); `{}` is the default inbox. */
  private filter: Filter = {};
  /** While a newest page is being read: the ids pushed meanwhile, which that page may not list yet. */
  private arrived: Set<string> | null = null;
  /** Whether what is held below the coming newest page is a run of the view without gaps (kept) or not (dropped). */
  private olderContiguous = true;
  private readonly counter: Counts;
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
    const { persistCursor: keep } = options;
    // `localStorage` is read only when asked for: in a sandboxed frame reading it throws.
    this.cursor = new Cursor(keep && new PersistedCursor(keep.storage ?? globalThis.localStorage, namespace, keep.userId));
    const socket = io(`${options.url ?? ''}${namespace}`, {
      withCredentials: true,
      ...options.socket,
      autoConnect: false,
      // A function is read on every attempt, so each reconnect sends the cursor as it is then,
      // and the ids held just below it, which the server's catch-up then does not resend.
      auth: (cb) => cb(this.cursor.handshake(this.items)),
    });
    this.connection = new Connection(socket, options.timeout ?? 10_000, this.events);
    const watch = async (views: Record<string, Filter>) => (await this.connection.request(ClientEvent.Counts, { views })).counts;
    this.counter = new Counts(this.connection, watch, this.events);
    this.listen();
    if (options.autoConnect ?? true) this.connect();
  }

  /** Newest first, one entry per id. */
  get notifications(): readonly NotificationPayload[] {
    return this.items;
  }

  get unread(): number {
    return this.counter.unread;
  }

  /** The user's unseen count, for the bell's badge; `markSeen` what the inbox showed. */
  get unseen(): number {
    return this.counter.unseen;
  }

  /** The view `notifications` holds: the filter of the last `list()`, `{}` for the inbox. */
  get view(): Readonly<Filter> {
    return this.filter;
  }

  /** The watched views' counts, by name (see `watchCounts`). */
  get counts(): Readonly<Record<string, number>> {
    return this.counter.views;
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The open connection's transport, and why it stayed on polling; `null` while there is none. */
  get transport(): TransportState | null {
    return this.connection.transport;
  }

  /** Whether `loadMore` may find older notifications. */
  get hasMore(): boolean {
    return this.nextCursor !== null;
  }

  on<K extends keyof InboxEvents>(event: K, listener: InboxEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  connect(): void {
    this.connection.connect();
  }

  /** Disconnects for good (until `connect()`), e.g. on logout. */
  close(): void {
    this.connection.close();
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
    this.paging = this.connection.request(ClientEvent.List, this.listQuery(before))
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
    const answer = await this.connection.request(ClientEvent.Read, { ids: list });
    this.applyRead({ ids: list }, answer.unread, answer.unseen);
    return answer.unread;
  }

  async markAllRead(): Promise<number> {
    const answer = await this.connection.request(ClientEvent.ReadAll, {});
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
    const result = await this.connection.request(ClientEvent.Snooze, { ids: list, until: at });
    this.applyState({ ids: list, change: 'snoozed' });
    this.counter.setBadges(result.unread, result.unseen);
    return result;
  }

  /**
   * Watches named views' counts, e.g. `{ all: {}, unread: { state: 'unread' }, mentions: { type:
   * 'mention' } }`: each view's unread notifications (unseen ones for `state: 'unseen'`). Resolves
   * with them; afterwards `counts` and the `counts` event follow every change, across reconnects.
   * A new call replaces the watched views; `{}` stops. At most `MAX_VIEWS` (20).
   */
  watchCounts(views: Record<string, Filter>): Promise<Readonly<Record<string, number>>> {
    return this.counter.watch(views);
  }

  /** What the user has muted. */
  getPreferences(): Promise<Preferences> {
    return this.connection.request(ClientEvent.PreferencesGet, {});
  }

  /**
   * Mutes types and topics: their notifications are still stored and listed, but neither pushed
   * live nor counted. Rejects with `FORBIDDEN` for a type the host does not let users mute.
   * Resolves with the preferences as stored.
   */
  setPreferences(preferences: PreferencesUpdate): Promise<Preferences> {
    // The server takes either list on its own (the one left out stays as it is).
    return this.connection.request(ClientEvent.PreferencesSet, preferences);
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
    await this.connection.request(ClientEvent.Subscribe, { topic });
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.connection.request(ClientEvent.Unsubscribe, { topic });
  }

  private listen(): void {
    const { connection } = this;
    connection.onConnect(() => (this.caughtUp = []));
    // Links are checked again before anything reaches the page (see withSafeLinks).
    connection.on(ServerEvent.Notification, (n) => this.pushed(withSafeLinks(n)));
    connection.on(ServerEvent.Synced, (p) => void this.synced(p));
    connection.on(ServerEvent.Unread, (p) => this.counter.setBadges(p.count, p.unseen));
    connection.on(ServerEvent.Read, (read) => this.applyRead(read));
    connection.on(ServerEvent.State, (state) => this.applyState(state));
    connection.on(ServerEvent.Counts, ({ counts }) => this.counter.pushed(counts));
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
    this.counter.setBadges(unread, p.unseen);
    this.connection.caughtUp();
    if (truncated) {
      // More was missed than the catch-up sends: what was held before is behind a gap, so keep
      // only this catch-up and page down from the newest again.
      this.restart(inView(mergeNotifications([], this.caughtUp ?? []).items, this.filter), true);
    }
    this.caughtUp = null;
    this.counter.rewatch();
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
    const page = pageWithSafeLinks(await this.connection.request(ClientEvent.List, this.listQuery(undefined)));
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
    if (unread !== undefined) this.counter.setBadges(unread, unseen);
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
    const result = await this.connection.request(event, target);
    this.applyState({ ...target, change });
    this.counter.setBadges(result.unread, result.unseen);
    return result;
  }

}

/** Creates and connects an {@link InboxClient}. */
export function createInbox(options?: InboxOptions): InboxClient {
  return new InboxClient(options);
}
