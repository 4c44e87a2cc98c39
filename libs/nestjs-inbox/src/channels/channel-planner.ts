import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import type { NotificationRow } from '../persistence/notification-row';
import { ChannelSendRepository, type PlannedSend } from '../persistence/repositories/channel-send.repository';
import type { Channel } from '../protocol';

/** `NotificationInput.channels` once checked: per channel, on, off, or on after its own delay. */
export type ChannelChoices = Partial<Record<Channel, boolean | { after?: number }>>;

/** Users one statement plans a broadcast's or publication's sends for. */
export const PLAN_BATCH = 1000;

/**
 * Plans the sends of stored notifications, after their commit (docs/channels.md). A direct row
 * gets a send per configured channel its type may go on, unless the notification says no; a
 * broadcast or publication only on a channel the notification asks for (`channels: { email:
 * true }`), then for its audience in batches of PLAN_BATCH users, each one statement, in the
 * background: never a row per user inside the caller's transaction, never holding up delivery.
 */
@Injectable()
export class ChannelPlanner implements OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private readonly running = new Set<Promise<void>>();

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly sends: ChannelSendRepository,
  ) {}

  /** Whether any channel is configured: without one, nothing is planned. */
  get enabled(): boolean {
    return this.options.channels?.email !== undefined;
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.running);
  }

  /** The sends of committed rows; `choices[i]`: the notification's `channels` of `rows[i]`. A failure is logged: the rows are stored, the sends lost. */
  async plan(rows: NotificationRow[], choices: (ChannelChoices | null | undefined)[]): Promise<void> {
    if (!this.enabled) return;
    const direct: PlannedSend[] = [];
    rows.forEach((row, i) => {
      for (const c of this.channelsOf(row, choices[i])) {
        if (row.user_id !== null) direct.push({ notificationId: row.id, userId: row.user_id, scope: row.scope ?? '', ...c });
        else this.track(this.planShared(row, c));
      }
    });
    await this.sends.planDirect(direct).catch((err: Error) => this.logger.warn(`channel sends not planned: ${err.message}`));
  }

  /** For the tests and the bench: resolves once every shared row's planning has ended. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  private channelsOf(row: NotificationRow, choices: ChannelChoices | null | undefined) {
    const planned: { channel: Channel; until: 'seen' | 'read'; afterMs: number }[] = [];
    const email = this.options.channels?.email;
    if (email) {
      const choice = choices?.email;
      const wanted =
        choice === undefined ? row.user_id !== null && (email.types === undefined || email.types.includes(row.type)) : choice !== false;
      const after = typeof choice === 'object' && choice.after !== undefined ? choice.after : email.after;
      if (wanted) planned.push({ channel: 'email', until: email.until, afterMs: after });
    }
    return planned;
  }

  private async planShared(row: NotificationRow, send: { channel: Channel; until: 'seen' | 'read'; afterMs: number }): Promise<void> {
    let after = '';
    try {
      for (;;) {
        const { last, n } = await this.sends.planShared({ id: row.id, topic: row.topic, scope: row.scope ?? '' }, send, after, PLAN_BATCH);
        if (n < PLAN_BATCH || last === null) return;
        after = last;
      }
    } catch (err) {
      this.logger.warn(`channel sends of notification ${row.id} not planned after user '${after}': ${(err as Error).message}`);
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}
