import type { Filter } from '../protocol';
import type { InboxEvents } from './inbox-events';
import type { TypedEmitter } from './typed-emitter';

/** What the counts need to know of the connection (a `Connection` is one). */
export interface ConnectionCount {
  readonly connected: boolean;
  /** Connections opened so far. */
  readonly connections: number;
}

/** Sends the `notifications:counts` request: watches `views` on this connection, resolves with their counts. */
export type WatchRequest = (views: Record<string, Filter>) => Promise<Record<string, number>>;

/**
 * The numbers a page shows without the list: the user's unread and unseen badges, and the
 * counts of the views `watch` names, watched again on every connection (the server forgets
 * them with the socket). Each emits its event only when it changes.
 */
export class Counts {
  private unreadCount = 0;
  private unseenCount = 0;
  private viewCounts: Readonly<Record<string, number>> = {};
  /** The views watched, sent again on every (re)connect; `null` for none. */
  private watched: Record<string, Filter> | null = null;
  /** The connection the last watch request went (or, buffered, goes) out on. */
  private watchedOn = -1;

  constructor(
    private readonly connection: ConnectionCount,
    private readonly request: WatchRequest,
    private readonly events: TypedEmitter<InboxEvents>,
  ) {}

  get unread(): number {
    return this.unreadCount;
  }

  get unseen(): number {
    return this.unseenCount;
  }

  get views(): Readonly<Record<string, number>> {
    return this.viewCounts;
  }

  /** `unseen` is left as it is when not given (a read ack that did not say). */
  setBadges(unread: number, unseen?: number): void {
    if (unread !== this.unreadCount) {
      this.unreadCount = unread;
      this.events.emit('unread', unread);
    }
    if (typeof unseen === 'number' && unseen !== this.unseenCount) {
      this.unseenCount = unseen;
      this.events.emit('unseen', unseen);
    }
  }

  /** Watches `views` instead of those watched before (`{}`: none); resolves with their counts. */
  async watch(views: Record<string, Filter>): Promise<Readonly<Record<string, number>>> {
    this.watched = Object.keys(views).length ? { ...views } : null;
    const watched = this.watched;
    // A request made while disconnected is buffered and goes out with the next connection.
    const { connected, connections } = this.connection;
    this.watchedOn = connected ? connections : connections + 1;
    const counts = await this.request({ ...views });
    // An answer to views watched before is stale: the newer request's answer replaces it.
    if (this.watched === watched) this.set(counts, true);
    return this.viewCounts;
  }

  /** After a connection's catch-up: watches the views again unless this connection already has them. */
  rewatch(): void {
    if (this.watched && this.watchedOn !== this.connection.connections) void this.watch(this.watched).catch(() => undefined);
  }

  /** Counts the server pushed; it names only the views that changed. */
  pushed(counts: Record<string, number>): void {
    this.set(counts, false);
  }

  /** From the ack (`replace`: the watched set is new) or a push; names not watched are ignored. */
  private set(counts: Record<string, number>, replace: boolean): void {
    const watched = this.watched ?? {};
    const next: Record<string, number> = replace ? {} : { ...this.viewCounts };
    for (const [name, count] of Object.entries(counts)) if (name in watched) next[name] = count;
    const names = new Set([...Object.keys(next), ...Object.keys(this.viewCounts)]);
    if ([...names].every((name) => next[name] === this.viewCounts[name])) return;
    this.viewCounts = next;
    this.events.emit('counts', next);
  }
}
