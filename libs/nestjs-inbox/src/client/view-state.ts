import type { Filter, ListPage, ListQuery, NotificationPayload, ReadPayload, StateChange, StatePayload } from '../protocol';
import type { Cursor } from './cursor';
import type { InboxEvents } from './inbox-events';
import {
  applyRead,
  applyState,
  inView,
  matchesFilter,
  mayEnterView,
  mergeNotifications,
  pageWithSafeLinks,
  reconcileNewestPage,
  supersede,
} from './notification-list';
import type { TypedEmitter } from './typed-emitter';

/** Sends the `notifications:list` request. */
export type PageRequest = (query: ListQuery) => Promise<ListPage>;

/**
 * The one view on show (the inbox, or what `list(filter)` selects): the notifications held,
 * newest first, and the paging down from the newest page. A page requested before the view
 * restarted (another filter, a catch-up with a gap) is discarded when it comes; notifications
 * pushed while a newest page is read are kept even if that page does not list them yet.
 */
export class ViewState {
  private held: NotificationPayload[] = [];
  /** `{}` is the default inbox. */
  private current: Filter = {};
  /** `before` of the next older page: `undefined` before the first page, `null` after the last. */
  private nextCursor: string | null | undefined;
  private paging: Promise<void> | null = null;
  /** Bumped when the held list restarts, so a page requested before that is discarded. */
  private epoch = 0;
  /** While a newest page is being read: the ids pushed meanwhile, which that page may not list yet. */
  private arrived: Set<string> | null = null;
  /** Whether what is held below the coming newest page is a run of the view without gaps (kept) or not (dropped). */
  private olderContiguous = true;
  /** What the current connection's catch-up delivered, in case it turns out truncated; `null` once synced. */
  private caughtUp: NotificationPayload[] | null = null;

  constructor(
    private readonly pageSize: number,
    private readonly readPage: PageRequest,
    private readonly cursor: Pick<Cursor, 'move'>,
    private readonly events: TypedEmitter<InboxEvents>,
  ) {}

  get items(): readonly NotificationPayload[] {
    return this.held;
  }

  get filter(): Readonly<Filter> {
    return this.current;
  }

  get hasMore(): boolean {
    return this.nextCursor !== null;
  }

  holds(id: string): boolean {
    return this.held.some((n) => n.id === id);
  }

  /** Shows the view `filter` selects from its newest page; resolves with `hasMore` once the page is in. */
  list(filter: Filter): Promise<boolean> {
    this.current = { ...filter };
    // Until the page comes, the held ones that fit the view; gaps among them go when it does.
    this.restart(inView(this.held, this.current), false);
    return this.loadMore();
  }

  /** Loads the next older page (the newest, at first); resolves with whether there are more. */
  async loadMore(): Promise<boolean> {
    while (this.paging) await this.paging.catch(() => undefined);
    if (this.nextCursor === null) return false;
    const before = this.nextCursor;
    const epoch = this.epoch;
    const first = before === undefined;
    if (first) this.arrived ??= new Set();
    this.paging = this.readPage(this.query(before))
      .then(pageWithSafeLinks)
      .then((page) => {
        if (epoch !== this.epoch) return;
        this.nextCursor = page.nextCursor;
        if (first) this.takeNewestPage(page, this.olderContiguous);
        else this.merge(page.items, true); // `hasMore` may have changed even if the list did not
      })
      .finally(() => (this.paging = null));
    await this.paging;
    return this.hasMore;
  }

  /**
   * Drops everything held (another scope's inbox follows): the view's filter stays, and the
   * next catch-up's `resync` reads its newest page; a page on its way is discarded.
   */
  clear(): void {
    this.caughtUp = null;
    this.restart([], true);
  }

  /** A new connection: its catch-up starts. */
  catchUpStarted(): void {
    this.caughtUp = [];
  }

  /**
   * The catch-up is over. A `truncated` one missed more than it sent: what was held before is
   * behind a gap, so only this catch-up is kept and the view pages down from the newest again.
   */
  catchUpEnded(truncated: boolean): void {
    if (truncated) this.restart(inView(mergeNotifications([], this.caughtUp ?? []).items, this.current), true);
    this.caughtUp = null;
  }

  /**
   * After a catch-up: the first page if none came yet; otherwise the newest page again, since
   * changes made elsewhere while away are not replayed. Failures wait for the next connection.
   */
  async resync(): Promise<void> {
    if (this.nextCursor === undefined) await this.loadMore().catch(() => undefined);
    else await this.refreshNewest().catch(() => undefined);
  }

  /**
   * A notification the server pushed, live or in the catch-up: held if it is in the view; the
   * item it replaces (a group's, docs/groups.md) goes, whether it is in the view or not.
   */
  pushed(n: NotificationPayload): void {
    this.caughtUp?.push(n);
    this.arrived?.add(n.id);
    if (matchesFilter(n, this.current)) this.merge([n]);
    else if (n.replaces && this.current.group === undefined) this.setItems(supersede(this.held, [n]));
  }

  /** Notifications read, here or elsewhere (`notifications:read`). */
  applyRead(read: ReadPayload): void {
    this.setItems(inView(applyRead(this.held, read, new Date().toISOString()), this.current));
    this.rereadIfEntered('read', 'all' in read ? null : read.ids);
  }

  /** A state change made here or elsewhere (`notifications:state`). */
  applyState(state: StatePayload): void {
    this.setItems(inView(applyState(this.held, state, new Date().toISOString()), this.current));
    this.rereadIfEntered(state.change, 'ids' in state ? state.ids : null);
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
    if (items !== this.held) {
      this.held = items;
      this.events.emit('change', items);
    }
  }

  /** Reads the newest page again: held ones it shows have left the view are dropped, older pages are kept. */
  private async refreshNewest(): Promise<void> {
    const epoch = this.epoch;
    this.arrived ??= new Set();
    const page = pageWithSafeLinks(await this.readPage(this.query(undefined)));
    if (epoch === this.epoch) this.takeNewestPage(page, true);
  }

  private query(before: string | undefined): ListQuery {
    const query: ListQuery = { limit: this.pageSize };
    if (before) query.before = before;
    if (Object.keys(this.current).length) query.filter = { ...this.current };
    return query;
  }

  private takeNewestPage(page: ListPage, keepOlder: boolean): void {
    let items = reconcileNewestPage(this.held, page, this.arrived ?? new Set(), keepOlder);
    if (this.current.group === undefined) items = supersede(items, page.items);
    this.arrived = null;
    this.olderContiguous = true;
    this.setItems(inView(items, this.current), true);
  }

  /** Merges and reports the change (`always`: even if the list did not change). */
  private merge(incoming: readonly NotificationPayload[], always = false): void {
    const items = inView(mergeNotifications(this.held, incoming).items, this.current);
    this.setItems(this.current.group === undefined ? supersede(items, incoming) : items, always);
  }

  private setItems(items: NotificationPayload[], always = false): void {
    if (items === this.held || (items.length === this.held.length && items.every((n, i) => n === this.held[i]))) {
      if (always) this.events.emit('change', this.held);
      return;
    }
    this.held = items;
    // Only the inbox view moves the cursor: a filtered page skips what it does not select, which
    // the catch-up after a reconnect must still send.
    if (!Object.keys(this.current).length) this.cursor.move(items[0]?.id);
    this.events.emit('change', items);
  }

  /**
   * Reads the view again when a change brought into it notifications this client does not hold
   * (`ids`: those it named; `null`: a filter or all, which may have).
   */
  private rereadIfEntered(change: StateChange, ids: readonly string[] | null): void {
    if (!mayEnterView(change, this.current)) return;
    const held = new Set(this.held.map((n) => n.id));
    if (ids === null || ids.some((id) => !held.has(id))) void this.list(this.current).catch(() => undefined);
  }
}
