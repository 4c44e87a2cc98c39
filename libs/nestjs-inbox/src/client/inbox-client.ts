import { io } from 'socket.io-client';
import {
  ClientEvent,
  DEFAULT_NAMESPACE,
  type Action,
  type Filter,
  type ListQuery,
  type NotificationPayload,
  type PreferencesAnswer,
  type PreferencesUpdate,
  type PushSubscriptionJson,
  type StateChange,
  type StateResult,
} from '../protocol';
import { Connection } from './connection';
import { Counts } from './counts';
import { Cursor } from './cursor';
import { PersistedCursor } from './cursor-storage';
import type { InboxOptions } from './inbox-options';
import type { ConnectionState, InboxEvents, TransportState } from './inbox-events';
import { actionIndex, checkedScope, selectionOf, type InboxSelection } from './inbox-input';
import { followServerEvents } from './server-events';
import { TypedEmitter } from './typed-emitter';
import { ViewState } from './view-state';
import { WebPush } from './web-push';

export type { InboxOptions } from './inbox-options';
export type { InboxSelection } from './inbox-input';

type StateEvent = typeof ClientEvent.Seen | typeof ClientEvent.Archive | typeof ClientEvent.Unarchive | typeof ClientEvent.Delete;

/**
 * The browser side of nestjs-inbox. Holds one view of the user's notifications (the inbox, or
 * what `list(filter)` selects) newest first without duplicates and in step with every tab and
 * device; the unread and unseen counts and the watched views' counts; and the cursor (the newest
 * id received) that every (re)connect sends, so the server's catch-up resumes exactly where this
 * client stopped.
 */
export class InboxClient {
  private readonly events = new TypedEmitter<InboxEvents>();
  private readonly cursor: Cursor;
  private currentScope: string | null;
  /** Where cursors are kept, per scope (`persistCursor`). */
  private readonly persisted: (scope: string | null) => PersistedCursor | undefined;
  private readonly connection: Connection;
  /** The view on show and its paging. */
  private readonly shown: ViewState;
  /** The badges and the watched views' counts. */
  private readonly counter: Counts;
  private readonly push: WebPush;

  constructor(options: InboxOptions = {}) {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const { persistCursor: keep } = options;
    this.currentScope = checkedScope(options.scope ?? null);
    // `localStorage` is read only when asked for: in a sandboxed frame reading it throws.
    this.persisted = (scope) => keep && new PersistedCursor(keep.storage ?? globalThis.localStorage, namespace, keep.userId, scope);
    this.cursor = new Cursor(this.persisted(this.currentScope));
    const socket = io(`${options.url ?? ''}${namespace}`, {
      withCredentials: true,
      ...options.socket,
      autoConnect: false,
      // A function is read on every attempt, so each reconnect sends the cursor as it is then,
      // and the ids held just below it, which the server's catch-up then does not resend.
      // `inlineBadge`: a new notification may carry the badge with it (its second argument) instead of a `notifications:unread` after it.
      auth: (cb) =>
        cb({
          ...this.cursor.handshake(this.shown.items),
          ...(this.currentScope === null ? {} : { scope: this.currentScope }),
          inlineBadge: true,
        }),
    });
    const connection = (this.connection = new Connection(socket, options.timeout ?? 10_000, this.events));
    const readPage = (query: ListQuery) => connection.request(ClientEvent.List, query);
    this.shown = new ViewState(options.pageSize ?? 20, readPage, this.cursor, this.events);
    const watch = async (views: Record<string, Filter>) => (await connection.request(ClientEvent.Counts, { views })).counts;
    this.counter = new Counts(connection, watch, this.events);
    this.push = new WebPush(connection, (id) => void this.markSeen([id]).catch(() => undefined));
    followServerEvents({ connection, cursor: this.cursor, shown: this.shown, counter: this.counter, events: this.events });
    if (options.autoConnect ?? true) this.connect();
  }

  /** Newest first, one entry per id. */
  get notifications(): readonly NotificationPayload[] {
    return this.shown.items;
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
    return this.shown.filter;
  }

  /** The watched views' counts, by name (see `watchCounts`). */
  get counts(): Readonly<Record<string, number>> {
    return this.counter.views;
  }

  get state(): ConnectionState {
    return this.connection.state;
  }

  /** The scope this client works in; `null`: unscoped. */
  get scope(): string | null {
    return this.currentScope;
  }

  /** The open connection's transport, and why it stayed on polling; `null` while there is none. */
  get transport(): TransportState | null {
    return this.connection.transport;
  }

  /** Whether `loadMore` may find older notifications. */
  get hasMore(): boolean {
    return this.shown.hasMore;
  }

  on<K extends keyof InboxEvents>(event: K, listener: InboxEvents[K]): () => void {
    return this.events.on(event, listener);
  }

  connect(): void {
    this.connection.connect();
  }

  /**
   * Works in another scope from now on (`null`: unscoped), without a page reload: reconnects in
   * that scope with its own cursor, drops the notifications held (the view's filter stays, and
   * its newest page is read in the new scope), and follows that scope's badges and watched
   * counts. Listeners stay as they are. Resolves once caught up in the new scope; rejects with
   * an `InboxError` if the server refuses it (`FORBIDDEN`: not the host's to give) or the
   * scope is malformed (`INVALID_INPUT`, checked before anything changes).
   */
  switchScope(scope: string | null): Promise<void> {
    const next = checkedScope(scope);
    return this.connection.reconnect(() => {
      this.currentScope = next;
      this.cursor.reset(this.persisted(next));
      this.shown.clear();
    });
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
  list(filter: Filter = {}): Promise<boolean> {
    return this.shown.list(filter);
  }

  /** Loads the next older page of the view; resolves with whether there are more. */
  loadMore(): Promise<boolean> {
    return this.shown.loadMore();
  }

  /** Marks notifications read for this user on every tab and device; resolves with the unread count. */
  async markRead(ids: string | readonly string[]): Promise<number> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    const answer = await this.connection.request(ClientEvent.Read, { ids: list });
    this.shown.applyRead({ ids: list, scope: this.currentScope });
    this.counter.setBadges(answer.unread, answer.unseen);
    return answer.unread;
  }

  async markAllRead(): Promise<number> {
    const answer = await this.connection.request(ClientEvent.ReadAll, {});
    this.shown.applyRead({ all: true, scope: this.currentScope });
    this.counter.setBadges(answer.unread, answer.unseen);
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
    this.shown.applyState({ ids: list, change: 'snoozed', scope: this.currentScope });
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

  /** What the user has muted, and the channels the server sends on (`availableChannels`). */
  getPreferences(): Promise<PreferencesAnswer> {
    return this.connection.request(ClientEvent.PreferencesGet, {});
  }

  /**
   * Mutes types and topics: their notifications are still stored and listed, but neither pushed
   * live nor counted; and channels, types on a channel, quiet hours (docs/channels.md). Rejects
   * with `FORBIDDEN` for a type the host does not let users mute. Resolves with the preferences
   * as stored.
   */
  setPreferences(preferences: PreferencesUpdate): Promise<PreferencesAnswer> {
    // The server takes either list on its own (the one left out stays as it is).
    return this.connection.request(ClientEvent.PreferencesSet, preferences);
  }

  /**
   * Runs an action of a notification: emits the `action` event (the page handles an action's
   * `event`; follow its `url` as a link), tells the server (`notifications:action`, an `action`
   * engagement event there; not awaited: the page's handling does not wait on it) and marks
   * the notification read.
   */
  async act(notification: NotificationPayload, action: Action): Promise<void> {
    this.events.emit('action', action, notification);
    const index = actionIndex(notification, action);
    if (index >= 0) void this.connection.request(ClientEvent.Action, { id: notification.id, action: index }).catch(() => undefined);
    if (!notification.readAt) await this.markRead(notification.id);
  }

  /**
   * Web Push on this browser (docs/channels.md): registers `serviceWorker` (e.g. the package's
   * `nestjs-inbox/client/inbox-sw.js` served by the site, or the site's own), subscribes with the
   * server's VAPID public key (asked with `push:key`) and sends the subscription (`push:subscribe`).
   * Rejects where the browser has no Push API, the user refuses notifications, or the server has
   * no `channels.webPush`.
   */
  enablePush(options: { serviceWorker: string }): Promise<PushSubscriptionJson> {
    return this.push.enable(options.serviceWorker);
  }

  /** Ends Web Push on this browser: unsubscribes it and tells the server (`push:unsubscribe`). */
  disablePush(): Promise<void> {
    return this.push.disable();
  }

  /** Subscribes the user to a topic (the host decides who may); rejects with `FORBIDDEN` if not allowed. */
  async subscribe(topic: string): Promise<void> {
    await this.connection.request(ClientEvent.Subscribe, { topic });
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.connection.request(ClientEvent.Unsubscribe, { topic });
  }

  private async changeState(event: StateEvent, change: StateChange, selection: InboxSelection): Promise<StateResult> {
    const target = selectionOf(selection);
    const result = await this.connection.request(event, target);
    this.shown.applyState({ ...target, change, scope: this.currentScope });
    this.counter.setBadges(result.unread, result.unseen);
    return result;
  }
}

/** Creates and connects an {@link InboxClient}. */
export function createInbox(options?: InboxOptions): InboxClient {
  return new InboxClient(options);
}
