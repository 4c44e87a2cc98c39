import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Inbox } from '../inbox-model';
import type { NotificationRow } from '../notification-row';
import { COLUMNS } from '../sql/row-state.sql';
import { StatementRunner } from '../statement-runner';
import { InboxStateRepository } from './inbox-state.repository';

/** A due snooze SnoozeWaker takes: the notification's content, its user, and its time. */
export type DueSnooze = NotificationRow & { snoozed_user_id: string; until: Date; expires_at: Date | null };

/** Snoozed notifications (inbox_snooze): deleted for their user until they come back as new. */
@Injectable()
export class SnoozeRepository {
  constructor(
    private readonly runner: StatementRunner,
    private readonly states: InboxStateRepository,
  ) {}

  /**
   * Snoozes what `inbox` shows among `ids` until `until`: deleted for its user now, in one
   * transaction with a row of `inbox_snooze` (SnoozeWaker brings each back as new then, in the
   * notification's own scope). `admit(pending, adding)` sees how many snoozes of the user (in
   * every scope) were pending and how many this one adds, and may throw to store nothing.
   * Returns the ids snoozed.
   */
  snooze(inbox: Inbox, ids: string[], until: Date, admit?: (pending: number, adding: number) => void): Promise<string[]> {
    const userId = inbox.userId;
    return this.runner.manager.transaction(async (tx) => {
      const pending = admit ? await this.lockSnoozes(userId, tx) : 0;
      const snoozed = await this.states.mark(inbox, 'deleted', ids, tx);
      admit?.(pending, snoozed.length);
      await this.runner.query(
        `INSERT INTO inbox_snooze (user_id, notification_id, until) SELECT $1, unnest($2::bigint[]), $3
         ON CONFLICT (user_id, notification_id) DO UPDATE SET until = EXCLUDED.until`,
        [userId, snoozed, until],
        { tx },
      );
      return snoozed;
    });
  }

  /**
   * Takes the user's snooze lock for `tx` (held until it ends, on every instance: two snoozes
   * of one user cannot both count the same pending ones) and counts their pending snoozes.
   */
  private async lockSnoozes(userId: string, tx: EntityManager): Promise<number> {
    await this.runner.query(`SELECT pg_advisory_xact_lock(hashtextextended('nestjs-inbox:snooze:' || $1, 0))`, [userId], { tx });
    // A statement of its own: its snapshot, taken once the lock is held, sees the snoozes of
    // the transaction that held it before (one statement's would be older than its wait).
    const [{ pending }] = await this.runner.query<{ pending: number }>(
      `SELECT count(*)::int AS pending FROM inbox_snooze WHERE user_id = $1`,
      [userId],
      { tx },
    );
    return pending;
  }

  /** Whether any snooze is due: one index probe, outside any transaction. */
  async snoozesDue(): Promise<boolean> {
    const [{ due }] = await this.runner.query<{ due: boolean }>(`SELECT EXISTS (SELECT 1 FROM inbox_snooze WHERE until <= now()) AS due`);
    return due;
  }

  /**
   * Takes up to `limit` snoozes that are due, inside `tx` (skipping those another instance is
   * taking), with the content of their notifications.
   */
  takeDueSnoozes(tx: EntityManager, limit: number): Promise<DueSnooze[]> {
    return this.runner.query<DueSnooze>(
      `WITH due AS (
         SELECT user_id, notification_id FROM inbox_snooze WHERE until <= now()
          ORDER BY until LIMIT $1 FOR UPDATE SKIP LOCKED
       ), taken AS (
         DELETE FROM inbox_snooze s USING due
          WHERE s.user_id = due.user_id AND s.notification_id = due.notification_id
         RETURNING s.user_id, s.notification_id, s.until
       )
       SELECT taken.user_id AS snoozed_user_id, taken.until, ${COLUMNS}, n.expires_at
         FROM taken JOIN inbox_notification n ON n.id = taken.notification_id`,
      [limit],
      { tx },
    );
  }
}
