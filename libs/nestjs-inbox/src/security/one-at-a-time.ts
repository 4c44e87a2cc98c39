import { NotificationsError } from '../notifications.errors';

/**
 * Runs the tasks of one key (a user) one at a time, in the order they came, and those of
 * different keys side by side; at most `limit` per key at once (the one running and those
 * waiting), the next one refused with RATE_LIMITED. Without it one socket could have 20 bulk
 * changes of up to `maxBulkRows` rows each running at once (its event burst), and more from
 * each of its other tabs; waiting is friendlier than refusing, the bound keeps the wait from
 * growing while a client sends faster than its changes finish. A key costs nothing once idle.
 */
export class OneAtATime {
  private readonly queues = new Map<string, { tail: Promise<void>; size: number }>();

  constructor(private readonly limit: number) {}

  /** How many tasks of `key` are running or waiting. */
  size(key: string): number {
    return this.queues.get(key)?.size ?? 0;
  }

  /** `what` names the task in the refusal, e.g. `archive`. */
  run<T>(key: string, what: string, task: () => Promise<T>): Promise<T> {
    let queue = this.queues.get(key);
    if (!queue) this.queues.set(key, (queue = { tail: Promise.resolve(), size: 0 }));
    if (queue.size >= this.limit) {
      return Promise.reject(
        new NotificationsError(
          'RATE_LIMITED',
          `${what}: ${this.limit} changes of this user are running or waiting already; retry once one has answered`,
        ),
      );
    }
    const q = queue;
    q.size++;
    const result = q.tail.then(task);
    q.tail = result.then(
      () => this.done(key, q),
      () => this.done(key, q),
    );
    return result;
  }

  private done(key: string, q: { size: number }): void {
    if (--q.size === 0) this.queues.delete(key);
  }
}
