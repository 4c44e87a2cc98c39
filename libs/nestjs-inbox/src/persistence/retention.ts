import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { RetentionRepository } from './repositories/retention.repository';
import { StatementRunner } from './statement-runner';

/** pg_try_advisory_xact_lock key of the pruning job (any constant unlikely to collide with a host's). */
const RETENTION_LOCK = 0x1b0c5;

/**
 * The `retention` option's pruning job: every `intervalMs`, on one instance at a time (a
 * transaction-level advisory lock per batch), deletes in batches of `batchSize` rows, each its
 * own short transaction that only takes row locks on what it deletes (writers never wait):
 *
 * - direct rows older than `days`, or expired — their receipts go with them;
 * - shared rows (broadcasts, publications) older than `days`, as a prefix of their stream: the
 *   unread arithmetic counts positions, so the stream's `pruned_seq` moves past what is gone;
 * - expired shared rows inside a stream lose their content at once and keep their position
 *   until the age passes them (a hole in the positions would make counts wrong).
 */
@Injectable()
export class Retention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly runner: StatementRunner,
    private readonly retention: RetentionRepository,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.options.retention) return;
    this.timer = setInterval(() => void this.tick(), this.options.retention.intervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = this.prune()
      .catch((err: Error) =>
        this.logger.warn(`retention: pruning failed, next try in ${this.options.retention!.intervalMs} ms: ${err.message}`),
      )
      .finally(() => (this.running = undefined));
  }

  /** Prunes until nothing is left to prune or another instance holds the lock; returns the rows deleted. */
  async prune(): Promise<number> {
    const { days, channelDays = days, batchSize } = this.options.retention!;
    let total = 0;
    for (;;) {
      const done = await this.batch(days, channelDays, batchSize);
      if (done === null) return total;
      total += done;
      if (done === 0) return total;
    }
  }

  /** One batch in its own transaction; `null` when another instance is pruning. */
  private batch(days: number | undefined, channelDays: number | undefined, batchSize: number): Promise<number | null> {
    return this.runner.manager.transaction(async (tx) => {
      const [{ locked }] = await tx.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [RETENTION_LOCK]);
      if (!locked) return null;
      const channels = channelDays === undefined ? 0 : await this.retention.pruneChannelBatch(tx, channelDays, batchSize);
      return channels + (await this.retention.pruneBatch(tx, days ?? null, batchSize));
    });
  }
}
