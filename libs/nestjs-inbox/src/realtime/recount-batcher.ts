/**
 * How long stale unread counts wait to be recomputed together. Every recount is a query and
 * one more frame per user; under load the badge lags by at most this much, and a user who gets
 * ten notifications meanwhile gets one count, not ten (bench: throughput, CPU per notification).
 */
export const RECOUNT_DELAY_MS = 100;

/**
 * A user recounted less than this ago waits until this much has passed. A user whose count
 * changes once is recounted within RECOUNT_DELAY_MS as before; a user receiving a stream of
 * notifications gets one recount (a badge query per user in Postgres, one frame per socket) per
 * interval instead of one per batch: under the bench's sustained load, recounts cost Postgres as
 * much CPU as the server spent on the notifications themselves, and half the frames sent.
 */
export const RECOUNT_MIN_INTERVAL_MS = 1000;

/**
 * Coalesces recount requests, by key (UnreadRecounter's are inboxes, a user in a scope, each
 * recounted and throttled on its own; "user" below stands for one): users added within
 * `delayMs` of the first are recounted in one run; one run at a time, and users added during a
 * run wait for the next one; a user recounted less than `minIntervalMs` ago waits for the rest
 * of the interval. `run` reports its own failures (UnreadRecounter logs them): a rejection here
 * would be unhandled.
 */
export class RecountBatcher {
  private stale = new Set<string>();
  /** When each user recounted within the last `minIntervalMs` was, oldest first (re-inserted on each recount). */
  private readonly recounted = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  /** When the scheduled flush fires (only while `timer` is set). */
  private timerAt = 0;
  private running = false;
  private stopped = false;

  constructor(
    private readonly run: (users: string[]) => Promise<void>,
    private readonly delayMs = RECOUNT_DELAY_MS,
    private readonly minIntervalMs = RECOUNT_MIN_INTERVAL_MS,
  ) {}

  add(userIds: Iterable<string>): void {
    if (this.stopped) return;
    const now = Date.now();
    let at = Infinity;
    for (const id of userIds) {
      this.stale.add(id);
      at = Math.min(at, this.dueAt(id, now));
    }
    if (at < Infinity) this.schedule(at);
  }

  /** When a stale user may be recounted: after the delay, and not before its interval since the last recount ends. */
  private dueAt(userId: string, now: number): number {
    const last = this.recounted.get(userId);
    return Math.max(now + this.delayMs, last === undefined ? 0 : last + this.minIntervalMs);
  }

  /** No recount from now on (the app is shutting down: the database is about to close). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stale.clear();
  }

  /** Flushes at `at`, unless a flush is due earlier already or a run is on (its end reschedules). */
  private schedule(at: number): void {
    if (this.stopped || this.running || (this.timer && this.timerAt <= at)) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => void this.flush(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    const now = Date.now();
    for (const [userId, at] of this.recounted) {
      if (at > now - this.minIntervalMs) break;
      this.recounted.delete(userId);
    }
    const due: string[] = [];
    for (const userId of this.stale) {
      if (this.recounted.has(userId)) continue;
      due.push(userId);
      this.recounted.set(userId, now);
    }
    for (const userId of due) this.stale.delete(userId);
    this.running = true;
    try {
      if (due.length > 0) await this.run(due);
    } finally {
      this.running = false;
      this.next();
    }
  }

  /** After a run: the users that waited go when the first of them may. */
  private next(): void {
    const now = Date.now();
    let at = Infinity;
    for (const userId of this.stale) {
      at = Math.min(at, this.dueAt(userId, now));
      if (at === now + this.delayMs) break;
    }
    if (at < Infinity) this.schedule(at);
  }
}
