import { Injectable, Logger } from '@nestjs/common';
import { ChannelPlanner } from '../channels/channel-planner';
import type { EntityManager } from 'typeorm';
import { NewNotificationRow, NotificationRow, toPayload } from '../persistence/notification-row';
import { NotificationWriter } from '../persistence/notification.writer';
import { NotificationRepository } from '../persistence/repositories/notification.repository';
import { TransactionHooks } from '../persistence/transaction-hooks';
import type { NotificationPayload } from '../protocol';
import { RoomEmitter } from '../realtime/room-emitter';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { asInputError } from './notification-input';

/** A stored notification, with its recipient (`null` for a broadcast or a topic). */
export interface StoredNotification extends NotificationPayload {
  userId: string | null;
}

/**
 * Stores notifications and delivers them to sockets once committed, never before: in the
 * caller's transaction (delivered by its after-commit hook, never if it rolls back), or through
 * the writer (concurrent calls share one INSERT and its commit), delivered once that resolves.
 */
@Injectable()
export class AfterCommitDelivery {
  private readonly logger = new Logger('NotificationsModule');

  constructor(
    private readonly notifications: NotificationRepository,
    private readonly writer: NotificationWriter,
    private readonly hooks: TransactionHooks,
    private readonly emitter: RoomEmitter,
    private readonly recounter: UnreadRecounter,
    private readonly planner: ChannelPlanner,
  ) {}

  /** Returns what was stored: a row whose `dedupeKey` was used already stores nothing and is left out. */
  async store(rows: NewNotificationRow[], manager?: EntityManager): Promise<StoredNotification[]> {
    const inserted = await (manager ? this.notifications.insert(rows, manager) : this.writer.write(rows)).catch(asInputError);
    const stored = inserted.filter((row): row is NotificationRow => row !== null);
    // Each stored row's own choice of channels (not a column: planned after commit).
    const choices = new Map(inserted.flatMap((row, i) => (row && rows[i].channels ? [[row.id, rows[i].channels]] : [])));
    // Built once: for the emit and for what the caller gets back (CPU per notification, bench 2).
    const payloads = stored.map(toPayload);
    if (stored.length > 0) {
      const choicesOf = (rows: NotificationRow[]) => rows.map((r) => choices.get(r.id));
      // Channel sends of direct rows: in the caller's transaction when there is one (cheap: one
      // statement), else once the writer's commit is done; broadcasts' and publications' after
      // commit, in the background (ChannelPlanner).
      if (manager && this.planner.enabled) await this.planner.planDirect(stored, choicesOf(stored), manager);
      const deliver = (rows: NotificationRow[]) => {
        this.recounter.refresh(this.emitter.deliver(rows));
        if (this.planner.enabled) this.planner.planShared(rows, choicesOf(rows));
      };
      if (manager) this.hooks.afterCommit(manager, () => void this.deliverCommitted(stored, deliver));
      else {
        this.recounter.refresh(this.emitter.deliver(stored, { payloads }));
        if (this.planner.enabled) await this.planner.plan(stored, choicesOf(stored));
      }
    }
    return stored.map((row, i) => ({ ...payloads[i], userId: row.user_id }));
  }

  /**
   * After the caller's COMMIT, delivers the rows that really are stored. Postgres answers COMMIT
   * in a transaction that had failed (a statement error the caller caught without a savepoint)
   * by rolling back, without an error, and TypeORM still reports a commit: one primary-key
   * lookup keeps "nothing is delivered that is not committed" true in that case too.
   */
  private async deliverCommitted(rows: NotificationRow[], deliver: (rows: NotificationRow[]) => void): Promise<void> {
    try {
      const stored = await this.notifications.existing(rows.map((r) => r.id));
      const committed = rows.filter((r) => stored.has(r.id));
      if (committed.length > 0) deliver(committed);
    } catch (err) {
      // The rows are stored: the users get them on their next connection (catch-up) or list.
      this.logger.warn(`delivery after commit not checked, so not sent live: ${(err as Error).message}`);
    }
  }
}
