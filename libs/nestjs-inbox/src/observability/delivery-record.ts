import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { DeliveryRepository } from '../persistence/repositories/delivery.repository';

/**
 * The `deliveryRecord` option: live deliveries counted in memory on the instance holding the
 * sockets (DeliveredEvents tells it, per inbox and event-loop turn, the ids written there) and
 * added to `inbox_delivery` every `flushMs` in one statement, and once more when the module
 * stops. Nothing of this runs in `notify`: it reads the outgoing packets after the emit.
 *
 * A metric, not a guarantee: what a process counted since its last flush is lost if it dies,
 * and a flush that fails is logged and dropped (never retried: the counts would pile up while
 * the database is away). Delivery itself never waits for it nor fails by it.
 */
@Injectable()
export class DeliveryRecord implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  /** Notification id → inboxes it was written to live since the last flush. */
  private counts = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly deliveries: DeliveryRepository,
  ) {}

  /** The option is on: DeliveredEvents watches the sockets for it. */
  get enabled(): boolean {
    return this.options.deliveryRecord !== undefined;
  }

  onApplicationBootstrap(): void {
    if (!this.options.deliveryRecord) return;
    this.timer = setInterval(() => void this.flush(), this.options.deliveryRecord.flushMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    await this.flush();
  }

  /** Notifications written live to one inbox on this instance (each id once per inbox and turn). */
  count(ids: Iterable<string>): void {
    if (!this.enabled) return;
    for (const id of ids) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
  }

  /** Adds what was counted since the last flush, unless a flush is under way (the next tick takes it). */
  flush(): Promise<void> {
    if (this.running || this.counts.size === 0) return this.running ?? Promise.resolve();
    const counts = this.counts;
    this.counts = new Map();
    const ids = [...counts.keys()];
    this.running = this.deliveries
      .add(
        ids,
        ids.map((id) => counts.get(id)!),
      )
      .catch((err: Error) =>
        this.logger.warn(`deliveryRecord: the live deliveries of ${ids.length} notification(s) not recorded: ${err.message}`),
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }
}
