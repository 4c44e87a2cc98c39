import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import type { NotificationRow } from '../persistence/notification-row';
import type { BroadcastAudience } from '../notifications.feature-options';
import { ChannelSendRepository, type PlannedSend, type SharedSend } from '../persistence/repositories/channel-send.repository';
import { type Channel, CHANNELS } from '../protocol';
import * as schema from '../validation/schemas';

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
 * A broadcast's audience is the host's `broadcastAudience` when it gives one (the library knows
 * only users it has state for), else those users; a publication's, its topic's subscribers.
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
    return CHANNELS.some((c) => this.options.channels?.[c] !== undefined);
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.running);
  }

  /** Both kinds of rows' sends, after commit (the SQL door's rows): a failure is logged, the rows stay stored. */
  async plan(rows: NotificationRow[], choices: (ChannelChoices | null | undefined)[]): Promise<void> {
    if (!this.enabled) return;
    this.planShared(rows, choices);
    await this.planDirect(rows, choices).catch((err: Error) => this.logger.warn(`channel sends not planned: ${err.message}`));
  }

  /**
   * The direct rows' sends, one statement: in `tx`, the transaction that stores the rows (a
   * rollback takes them too, a crash after commit cannot lose them), or after their commit.
   */
  async planDirect(rows: NotificationRow[], choices: (ChannelChoices | null | undefined)[], tx?: EntityManager): Promise<void> {
    if (!this.enabled) return;
    const direct: PlannedSend[] = [];
    rows.forEach((row, i) => {
      if (row.user_id === null) return;
      for (const c of this.channelsOf(row, choices[i])) {
        direct.push({ notificationId: row.id, userId: row.user_id, scope: row.scope ?? '', ...c });
      }
    });
    await this.sends.planDirect(direct, tx);
  }

  /** The broadcasts' and publications' sends that their notifications ask for, after commit, in the background. */
  planShared(rows: NotificationRow[], choices: (ChannelChoices | null | undefined)[]): void {
    if (!this.enabled) return;
    rows.forEach((row, i) => {
      if (row.user_id !== null) return;
      const sends = this.channelsOf(row, choices[i]);
      if (sends.length === 0) return;
      const hosts = this.options.channels?.broadcastAudience;
      this.track(row.topic === null && hosts ? this.planHostAudience(row, sends, hosts) : this.planAudience(row, sends));
    });
  }

  /** For the tests and the bench: resolves once every shared row's planning has ended. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running);
  }

  private channelsOf(row: NotificationRow, choices: ChannelChoices | null | undefined): SharedSend[] {
    const planned: SharedSend[] = [];
    for (const channel of CHANNELS) {
      const options = this.options.channels?.[channel];
      if (!options) continue;
      const choice = choices?.[channel];
      const wanted =
        choice === undefined ? row.user_id !== null && (options.types === undefined || options.types.includes(row.type)) : choice !== false;
      const after = typeof choice === 'object' && choice.after !== undefined ? choice.after : options.after;
      if (wanted) planned.push({ channel, until: options.until, afterMs: after });
    }
    return planned;
  }

  /** The shared row's known audience (its topic's subscribers, or the users with state), a batch per statement. */
  private async planAudience(row: NotificationRow, sends: SharedSend[]): Promise<void> {
    let after = '';
    try {
      for (;;) {
        const { last, n } = await this.sends.planShared({ id: row.id, topic: row.topic, scope: row.scope ?? '' }, sends, after, PLAN_BATCH);
        if (n < PLAN_BATCH || last === null) return;
        after = last;
      }
    } catch (err) {
      this.logger.warn(`channel sends of notification ${row.id} not planned after user '${after}': ${(err as Error).message}`);
    }
  }

  /**
   * A broadcast's audience as the host's `broadcastAudience` gives it, pulled a batch at a time:
   * PLAN_BATCH ids are stored (one statement) before more are asked, so memory stays one batch
   * whatever the audience. An id that is not one (not a non-empty string of at most 255
   * characters) is skipped with a warning naming it; the others are planned.
   */
  private async planHostAudience(row: NotificationRow, sends: SharedSend[], audience: BroadcastAudience): Promise<void> {
    const target = { id: row.id, scope: row.scope ?? '' };
    let batch: string[] = [];
    let planned = 0;
    let seen = 0;
    const flush = async () => {
      if (batch.length === 0) return;
      await this.sends.planUsers(target, sends, batch);
      planned += batch.length;
      batch = [];
    };
    try {
      const ctx = { scope: row.scope || null, notification: { id: row.id, type: row.type }, channels: sends.map((s) => s.channel) };
      for await (const item of audience(ctx)) {
        for (const userId of typeof item === 'string' ? [item] : Array.isArray(item) ? item : [item]) {
          const at = seen++;
          const checked = schema.userId.safeParse(userId);
          if (!checked.success) {
            this.logger.warn(`broadcastAudience: item ${at}: ${checked.error.issues[0].message} (notification ${row.id}): skipped`);
            continue;
          }
          batch.push(checked.data);
          if (batch.length >= PLAN_BATCH) await flush();
        }
      }
      await flush();
    } catch (err) {
      // What the host gave before it failed is planned: a failing page loses only the rest.
      await flush().catch(() => undefined);
      this.logger.warn(`channel sends of broadcast ${row.id} planned for ${planned} users, the rest not: ${(err as Error).message}`);
    }
  }

  private track(p: Promise<void>): void {
    this.running.add(p);
    void p.finally(() => this.running.delete(p));
  }
}
