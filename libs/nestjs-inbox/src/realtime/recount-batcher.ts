/**
 * How long stale unread counts wait to be recomputed together. Every recount is a query and
 * one more frame per user; under load the badge lags by at most this much, and a user who gets
 * ten notifications meanwhile gets one count, not ten (bench: throughput, CPU per notification).
 */
export const RECOUNT_DELAY_MS = 100;

/**
 * Coalesces recount requests: users added within `delayMs` of the first are recounted in one
 * run; one run at a time, and users added during a run wait for the next one. `run` reports its
 * own failures (UnreadRecounter logs them): a rejection here would be unhandled.
 */
export class RecountBatcher {
  private stale = new Set<string>();
  private scheduled = false;

  constructor(
    private readonly run: (users: string[]) => Promise<void>,
    private readonly delayMs = RECOUNT_DELAY_MS,
  ) {}

  add(userIds: Iterable<string>): void {
    for (const id of userIds) this.stale.add(id);
    if (this.scheduled || this.stale.size === 0) return;
    this.scheduled = true;
    setTimeout(() => void this.flush(), this.delayMs).unref();
  }

  private async flush(): Promise<void> {
    const users = [...this.stale];
    this.stale = new Set();
    try {
      await this.run(users);
    } finally {
      this.scheduled = false;
      if (this.stale.size > 0) this.add([]);
    }
  }
}
