import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { SnoozeRepository } from '../persistence/repositories/snooze.repository';
import { StatementRunner } from '../persistence/statement-runner';
import { NotificationService } from './notification.service';

/** How often due snoozes are looked for, in ms: a snoozed notification comes back at most this late. */
export const SNOOZE_POLL_MS = 1000;
/** Snoozes one transaction brings back at most. */
const SNOOZE_BATCH = 500;

/**
 * Brings snoozed notifications back when their time comes, on whichever instance gets there
 * first (each due snooze is taken once: `FOR UPDATE SKIP LOCKED`): a copy of the notification is
 * stored for its user, in the transaction that takes the snooze, and delivered once it commits,
 * as a new notification (a new id, unseen and unread). Its dedupe key (`snooze:<id>:<time>`)
 * keeps a retried batch from storing it twice. An expired one does not come back.
 */
@Injectable()
export class SnoozeWaker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;

  constructor(
    private readonly runner: StatementRunner,
    private readonly snoozes: SnoozeRepository,
    private readonly service: NotificationService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), SNOOZE_POLL_MS);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running) return;
    this.running = this.wake()
      .catch((err: Error) =>
        this.logger.warn(`snoozed notifications not brought back yet, next try in ${SNOOZE_POLL_MS} ms: ${err.message}`),
      )
      .finally(() => (this.running = undefined));
  }

  /** Brings back every due snooze, a batch per transaction; returns how many. */
  async wake(): Promise<number> {
    let total = 0;
    if (!(await this.snoozes.snoozesDue())) return total;
    for (;;) {
      const woken = await this.runner.manager.transaction(async (tx) => {
        const due = await this.snoozes.takeDueSnoozes(tx, SNOOZE_BATCH);
        for (const n of due) {
          if (n.expires_at !== null && n.expires_at.getTime() <= Date.now()) continue;
          await this.service.notify(
            n.snoozed_user_id,
            {
              type: n.type,
              title: n.title,
              body: n.body,
              data: n.data,
              url: n.url,
              actions: n.actions,
              actor: n.actor,
              tags: n.tags,
              // The woken copy is the original's user's, in the original's scope.
              scope: n.scope,
              // Grouped again: it joins its group's current item if there is one, else starts one.
              group: n.group_key ?? null,
              expiresAt: n.expires_at,
              dedupeKey: `snooze:${n.id}:${n.until.getTime()}`,
            },
            { manager: tx },
          );
        }
        return due.length;
      });
      total += woken;
      if (woken < SNOOZE_BATCH) return total;
    }
  }
}
