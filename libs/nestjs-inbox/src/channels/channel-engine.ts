import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { InboxTelemetry } from '../observability/inbox-telemetry';
import type { Inbox } from '../persistence/inbox-model';
import type { NotificationRow } from '../persistence/notification-row';
import { ChannelSendRepository, type ClaimedSend } from '../persistence/repositories/channel-send.repository';
import { InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { StatementRunner } from '../persistence/statement-runner';
import type { Channel } from '../protocol';
import { PushSubscriptionRepository } from '../persistence/repositories/push-subscription.repository';
import { type Job, toItem } from './channel-job';
import { claimGroups } from './digest-groups';
import { EmailSender } from './email/email-sender';
import { handOver } from './hand-over';
import { quietUntil } from './quiet-hours';
import { recordFinal } from './send-record';
import { WebPushSender } from './web-push/web-push-sender';

/**
 * A send left `sending` this long had its process die between claim and end: recorded failed,
 * never sent again (sends are at most once; docs/channels.md).
 */
export const ABANDONED_AFTER_MS = 10 * 60_000;

/**
 * The channel engine: on every instance, every `pollMs`, claims due sends (FOR UPDATE SKIP
 * LOCKED: each by one instance), checks each against its user at claim time (still unseen or
 * unread in its inbox, not muted there nor on the channel, outside quiet hours, an address),
 * records the outcome of those it does not send, and marks the others `sending` in the same
 * transaction. A mark that sees or reads one of them meanwhile waits for that transaction (its
 * trigger updates the same row), so a read that commits first always cancels the send. Then it
 * hands them to the sender, and records `sent`, or a retry with backoff, or, after
 * `maxAttempts`, `failed`.
 */
@Injectable()
export class ChannelEngine implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private email?: EmailSender;
  private webPush?: WebPushSender;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly runner: StatementRunner,
    private readonly sends: ChannelSendRepository,
    private readonly reads: InboxReadRepository,
    private readonly pushSubscriptions: PushSubscriptionRepository,
    private readonly telemetry: InboxTelemetry,
  ) {}

  /** The e-mail sender, once the app has started with `channels.email` (for the health indicator). */
  get emailSender(): EmailSender | undefined {
    return this.email;
  }

  async onApplicationBootstrap(): Promise<void> {
    const channels = this.options.channels;
    if (!channels?.email && !channels?.webPush) return;
    if (channels.email) this.email = await EmailSender.create(channels.email);
    if (channels.webPush) this.webPush = await WebPushSender.create(channels.webPush);
    this.timer = setInterval(() => this.tick(), channels.pollMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  private tick(): void {
    if (this.running || this.stopped) return;
    this.running = this.run()
      .catch((err: Error) => this.logger.warn(`channel sends not claimed, next try in ${this.options.channels!.pollMs} ms: ${err.message}`))
      .finally(() => (this.running = undefined));
  }

  /** Claims and sends until nothing is due; returns how many messages (sends, or digests) it claimed. Public for the tests and the bench. */
  async run(): Promise<number> {
    const channels = this.options.channels!;
    for (const channel of await this.sends.failAbandoned(ABANDONED_AFTER_MS)) this.telemetry.recordChannelSends(channel, 'failed', 1);
    let total = 0;
    if (!(await this.sends.anyDue())) return total;
    for (;;) {
      const claimed = await this.claimAndSend();
      total += claimed;
      if (claimed < channels.claimBatch || this.stopped) return total;
    }
  }

  private async claimAndSend(): Promise<number> {
    const channels = this.options.channels!;
    const jobs: Job[] = [];
    const skipped: { channel: Channel; sends: number }[] = [];
    const claimed = await this.runner.manager.transaction(async (tx) => {
      const groups = await claimGroups(
        this.sends,
        tx,
        [
          ...(channels.email ? [{ channel: 'email' as const, digestMs: channels.email.digest }] : []),
          ...(channels.webPush ? [{ channel: 'webPush' as const }] : []),
        ],
        channels.claimBatch,
      );
      for (const group of groups) {
        const job = await this.decide(tx, group, skipped);
        if (job) jobs.push(job);
      }
      return groups.length;
    });
    // Counted once committed: a claim that rolls back (the host's `address` threw) is claimed again.
    for (const { channel, sends } of skipped) this.telemetry.recordChannelSends(channel, 'skipped', sends);
    await Promise.all(jobs.map((job) => this.deliver(job)));
    return claimed;
  }

  /**
   * Checks one claimed group (one inbox, one channel) against its user now; records what it
   * does not send (adding its skips to `skipped`, counted after the commit), and returns what
   * it does (marked `sending`).
   */
  private async decide(tx: EntityManager, group: ClaimedSend[], skipped: { channel: Channel; sends: number }[]): Promise<Job | null> {
    const { user_id: userId, scope, channel, until } = group[0];
    const inbox: Inbox = { userId, scope: scope === '' ? null : scope };
    const attempt = Math.max(...group.map((g) => g.attempts)) + 1;
    const skip = async (ids: string[], reason: string) => {
      await recordFinal(this.sends, tx, { userId, scope, channel, ids }, 'skipped', reason, attempt - 1);
      skipped.push({ channel, sends: ids.length });
    };
    // In the claim's transaction: a second connection per claim could wait for the pool while
    // marks waiting for this transaction's locks hold it.
    const rows = await this.unseen(tx, inbox, group, until);
    const gone = group.map((g) => g.notification_id).filter((id) => !rows.some((r) => r.id === id));
    if (gone.length) await skip(gone, `already ${until}`);
    if (rows.length === 0) return null;

    const settings = await this.sends.settings(inbox, tx);
    const pref = settings.channels[channel];
    const mutable = (type: string) => this.options.mutable(type);
    const mutedWhy = (row: NotificationRow): string | null => {
      if (!mutable(row.type)) return null;
      if (pref?.muted) return `${channel} muted`;
      if (pref?.types?.includes(row.type)) return `type '${row.type}' muted on ${channel}`;
      if (settings.mutedTypes.includes(row.type)) return `type '${row.type}' muted`;
      if (row.topic !== null && settings.mutedTopics.includes(row.topic)) return `topic '${row.topic}' muted`;
      return null;
    };
    const sendable: NotificationRow[] = [];
    for (const row of rows) {
      const why = mutedWhy(row);
      if (why) await skip([row.id], why);
      else sendable.push(row);
    }
    if (sendable.length === 0) return null;
    const ids = sendable.map((r) => r.id);

    const quietEnd = settings.quietHours ? quietUntil(new Date(), settings.quietHours) : null;
    if (quietEnd) {
      await this.sends.move({ userId, channel, ids }, 'pending', { dueAt: quietEnd, tx });
      await this.sends.log(
        {
          userId,
          scope,
          channel,
          notificationIds: ids,
          outcome: 'deferred',
          reason: `quiet hours until ${quietEnd.toISOString()}`,
          attempt: attempt - 1,
        },
        tx,
      );
      return null;
    }
    const job: Job = { channel, userId, scope, attempt, items: sendable.map(toItem) };
    if (channel === 'email') {
      job.to = (await this.options.channels!.email!.address(userId)) ?? undefined;
      if (!job.to) {
        await skip(ids, 'no address');
        return null;
      }
    } else {
      job.subscriptions = await this.pushSubscriptions.ofUser(userId, tx);
      if (job.subscriptions.length === 0) {
        await skip(ids, 'no push subscription');
        return null;
      }
    }
    await this.sends.move({ userId, channel, ids }, 'sending', { attempt: true, tx });
    return job;
  }

  /** The group's notifications still unseen (or unread) in its inbox now, oldest first: its list, one id at a time. */
  private async unseen(tx: EntityManager, inbox: Inbox, group: ClaimedSend[], until: 'seen' | 'read'): Promise<NotificationRow[]> {
    const state = until === 'read' ? 'unread' : 'unseen';
    const found: NotificationRow[] = [];
    for (const { notification_id: id } of group) {
      found.push(...(await this.reads.list(inbox, { state, after: String(BigInt(id) - 1n), before: String(BigInt(id) + 1n) }, 1, tx)));
    }
    return found.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
  }

  private async deliver(job: Job): Promise<void> {
    const ids = job.items.map((i) => i.id);
    const sends = { userId: job.userId, channel: job.channel, ids };
    try {
      const handed = await this.telemetry.channelSend(job.channel, ids.length, job.attempt, () =>
        handOver({ email: this.email, webPush: this.webPush }, this.pushSubscriptions, job),
      );
      if (handed === 'gone') {
        await recordFinal(this.sends, undefined, { ...sends, scope: job.scope }, 'skipped', 'push subscriptions gone', job.attempt);
        this.telemetry.recordChannelSends(job.channel, 'skipped', ids.length);
        return;
      }
      // Logged first: a send that is no longer `sending` has its outcome in the log.
      await this.sends.log({
        userId: job.userId,
        scope: job.scope,
        channel: job.channel,
        notificationIds: ids,
        outcome: 'sent',
        reason: handed.reason,
        attempt: job.attempt,
        messageId: handed.messageId,
      });
      await this.sends.move(sends, 'sent');
      this.telemetry.recordChannelSends(job.channel, 'sent', ids.length);
    } catch (err) {
      const { maxAttempts, retryBaseMs } = this.options.channels!;
      const message = (err as Error).message;
      try {
        if (job.attempt >= maxAttempts) {
          await recordFinal(
            this.sends,
            undefined,
            { ...sends, scope: job.scope },
            'failed',
            `gave up after ${job.attempt} attempts: ${message}`,
            job.attempt,
          );
          this.telemetry.recordChannelSends(job.channel, 'failed', ids.length);
        } else {
          // Exponential, with jitter so that a transport's outage does not bring every retry back at once.
          const wait = retryBaseMs * 2 ** (job.attempt - 1) * (0.75 + Math.random() * 0.5);
          await this.sends.log({
            userId: job.userId,
            scope: job.scope,
            channel: job.channel,
            notificationIds: ids,
            outcome: 'retry',
            reason: message,
            attempt: job.attempt,
          });
          await this.sends.move(sends, 'pending', { dueAt: new Date(Date.now() + wait) });
          this.telemetry.recordChannelSends(job.channel, 'failed', ids.length);
        }
      } catch (recordErr) {
        // Left `sending`: failed once ABANDONED_AFTER_MS has passed, never sent twice.
        this.logger.warn(`channel send of ${ids.join(', ')} not recorded: ${(recordErr as Error).message}`);
      }
    }
  }
}
