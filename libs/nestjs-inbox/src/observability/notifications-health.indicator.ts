import { Injectable } from '@nestjs/common';
import { ChannelEngine } from '../channels/channel-engine';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
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
  /**
   * The channels' senders, when the `channels` option is set: `email` up when its transport's
   * `verify()` answers (SMTP: connects and greets), `configured` for a Transporter without
   * `verify`; `webPush` always `configured` (no connection: each push is its own HTTPS request).
   */
  channels?: { email?: PartState | 'configured'; webPush?: 'configured' };
  /** When down: which parts, and what still works meanwhile. */
  message?: string;
}

/** `@nestjs/terminus`'s HealthIndicatorResult, written out so that the library's types need no terminus. */
export type NotificationsHealthResult<Key extends string = 'inbox'> = Record<Key, NotificationsHealthDetail>;

export interface NotificationsHealthOptions {
  /** The store's query counts as down after this long (a pool waiting on an unreachable Postgres). Default 2000. */
  timeoutMs?: number;
}

/**
 * How long the e-mail transport's answer is reused: a probe every few seconds from each of
 * several load balancers should not open an SMTP connection each time.
 */
export const EMAIL_PROBE_CACHE_MS = 5000;

/** The store's probe: the library's own table, so a missing migration or privilege is down too; no row read. */
const STORE_PROBE = 'SELECT 1 FROM inbox_notification LIMIT 0';

/**
 * A health indicator for `@nestjs/terminus`: the store, the SQL producers' listener, Redis and
 * the channels' senders, each reported, `down` when any part is. For a readiness probe, not a
 * liveness one: every part it reports is outside the process, and restarting the process mends
 * none of them (during a Redis outage an instance still stores and delivers to its own sockets).
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
    private readonly channelEngine: ChannelEngine,
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
  ) {}

  /** The last e-mail probe (shared by the probes within EMAIL_PROBE_CACHE_MS of its start). */
  private emailProbe?: { at: number; result: Promise<{ state: PartState | 'configured'; error?: string }> };

  async isHealthy<Key extends string = 'inbox'>(
    key: Key = 'inbox' as Key,
    { timeoutMs = 2000 }: NotificationsHealthOptions = {},
  ): Promise<NotificationsHealthResult<Key>> {
    const [storeError, channels] = await Promise.all([this.probeStore(timeoutMs), this.probeChannels(timeoutMs)]);
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
      ...(channels.emailError
        ? [
            `e-mail (${channels.emailError}): e-mails are retried with backoff and given up after ` +
              `${this.options.channels!.maxAttempts} attempts; the inbox and live delivery continue`,
          ]
        : []),
    ];
    const detail: NotificationsHealthDetail = {
      status: down.length > 0 ? 'down' : 'up',
      store: storeError ? 'down' : 'up',
      sqlListener,
      redis,
      ...(channels.detail ? { channels: channels.detail } : {}),
      ...(down.length > 0 ? { message: `down: ${down.join('; ')}` } : {}),
    };
    return { [key]: detail } as NotificationsHealthResult<Key>;
  }

  /** The store's error, or `null` when it answered within `timeoutMs`. */
  private probeStore(timeoutMs: number): Promise<string | null> {
    return withinTimeout(
      this.runner.query(STORE_PROBE).then(
        () => null,
        (err: Error) => err.message,
      ),
      timeoutMs,
      `no answer within ${timeoutMs} ms`,
    );
  }

  /** The channels' part of the detail (none without the option), and the e-mail transport's error. */
  private async probeChannels(timeoutMs: number): Promise<{ detail?: NotificationsHealthDetail['channels']; emailError?: string }> {
    const channels = this.options.channels;
    if (!channels?.email && !channels?.webPush) return {};
    const detail: NonNullable<NotificationsHealthDetail['channels']> = {};
    let emailError: string | undefined;
    if (channels.email) {
      const now = Date.now();
      if (!this.emailProbe || now - this.emailProbe.at >= EMAIL_PROBE_CACHE_MS) {
        this.emailProbe = { at: now, result: this.probeEmail(timeoutMs) };
      }
      const { state, error } = await this.emailProbe.result;
      detail.email = state;
      emailError = error;
    }
    if (channels.webPush) detail.webPush = 'configured';
    return { detail, emailError };
  }

  private async probeEmail(timeoutMs: number): Promise<{ state: PartState | 'configured'; error?: string }> {
    const sender = this.channelEngine.emailSender;
    if (!sender) return { state: 'down', error: 'not started yet' };
    const error = `no answer within ${timeoutMs} ms`;
    const answer = await withinTimeout(
      sender.verify().catch((err: Error) => ({ error: err.message })),
      timeoutMs,
      { error },
    );
    if (answer === 'unchecked') return { state: 'configured' };
    return answer === 'ok' ? { state: 'up' } : { state: 'down', error: answer.error };
  }
}

/** `work`'s result, or `fallback` when it takes longer than `ms`. */
async function withinTimeout<T>(work: Promise<T>, ms: number, fallback: T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(fallback), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
