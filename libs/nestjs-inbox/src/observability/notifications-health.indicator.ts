import { Injectable } from '@nestjs/common';
import { StatementRunner } from '../persistence/statement-runner';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { SqlProducerListener } from '../realtime/sql-producer-listener';

type PartState = 'up' | 'down';

/** What `NotificationsHealthIndicator.isHealthy` reports under its key. */
export interface NotificationsHealthDetail {
  /** `down` when any part below is. */
  status: PartState;
  /** The library's tables answer a query through the host's DataSource. */
  store: PartState;
  /** The LISTEN connection that brings SQL producers' rows to sockets; `off` in a producer-only process. */
  sqlListener: PartState | 'off';
  /** The fan-out's two clients; `off` without the `redis` option. */
  redis: 'off' | { publisher: PartState; subscriber: PartState };
  /** When down: which parts, and what still works meanwhile. */
  message?: string;
}

/** `@nestjs/terminus`'s HealthIndicatorResult, written out so that the library's types need no terminus. */
export type NotificationsHealthResult<Key extends string = 'inbox'> = Record<Key, NotificationsHealthDetail>;

export interface NotificationsHealthOptions {
  /** The store's query counts as down after this long (a pool waiting on an unreachable Postgres). Default 2000. */
  timeoutMs?: number;
}

/** The store's probe: the library's own table, so a missing migration or privilege is down too; no row read. */
const STORE_PROBE = 'SELECT 1 FROM inbox_notification LIMIT 0';

/**
 * A health indicator for `@nestjs/terminus`: the store, the SQL producers' listener and Redis,
 * each reported, `down` when any part is. For a readiness probe, not a liveness one: every part
 * it reports is outside the process, and restarting the process mends none of them (during a
 * Redis outage an instance still stores and delivers to its own sockets).
 *
 * ```ts
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.inbox.isHealthy()]); }
 * ```
 *
 * It returns terminus's result shape (terminus 11+ treats a returned `status: 'down'` as a
 * failure), so it needs nothing from `@nestjs/terminus` at run time: hosts without terminus
 * may call it too, e.g. from their own controller.
 */
@Injectable()
export class NotificationsHealthIndicator {
  constructor(
    private readonly runner: StatementRunner,
    private readonly listener: SqlProducerListener,
    private readonly fanout: RedisFanout,
  ) {}

  async isHealthy<Key extends string = 'inbox'>(
    key: Key = 'inbox' as Key,
    { timeoutMs = 2000 }: NotificationsHealthOptions = {},
  ): Promise<NotificationsHealthResult<Key>> {
    const storeError = await this.probeStore(timeoutMs);
    const sqlListener = this.listener.state;
    const redis = this.fanout.clients;
    const down = [
      ...(storeError ? [`store (${storeError}): notify() fails and connecting sockets get no catch-up`] : []),
      ...(sqlListener === 'down' ? ["SQL listener: SQL producers' notifications are stored and reach sockets once it reconnects"] : []),
      ...(redis !== 'off' && (redis.publisher === 'down' || redis.subscriber === 'down')
        ? [
            `Redis (${['publisher', 'subscriber'].filter((c) => redis[c as 'publisher'] === 'down').join(' and ')}): ` +
              "local delivery continues (this instance's sockets get everything); the other instances catch up when Redis returns",
          ]
        : []),
    ];
    const detail: NotificationsHealthDetail = {
      status: down.length > 0 ? 'down' : 'up',
      store: storeError ? 'down' : 'up',
      sqlListener,
      redis,
      ...(down.length > 0 ? { message: `down: ${down.join('; ')}` } : {}),
    };
    return { [key]: detail } as NotificationsHealthResult<Key>;
  }

  /** The store's error, or `null` when it answered within `timeoutMs`. */
  private async probeStore(timeoutMs: number): Promise<string | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
    });
    try {
      return await Promise.race([
        this.runner.query(STORE_PROBE).then(
          () => null,
          (err: Error) => err.message,
        ),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}
