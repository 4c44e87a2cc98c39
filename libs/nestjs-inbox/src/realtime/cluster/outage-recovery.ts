import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { InjectNotificationsOptions } from '../../notifications.decorators';
import { inboxRoom, isMemberRoom, memberRooms } from '../../notifications.internal-constants';
import { inboxKey, type Inbox } from '../../persistence/inbox-model';
import type { ResolvedNotificationsOptions } from '../../notifications.options';
import { toPayload } from '../../persistence/notification-row';
import { InboxReadRepository } from '../../persistence/repositories/inbox-read.repository';
import { NotificationRepository } from '../../persistence/repositories/notification.repository';
import { SubscriptionRepository } from '../../persistence/repositories/subscription.repository';
import { ServerEvent } from '../../protocol';
import { InboxNamespace } from '../inbox-namespace';
import { UnreadRecounter } from '../unread-recounter';
import { ClusterEvent, ClusterEvents, ClusterPayloads } from './cluster-events';
import { DeliveredLog } from './delivered-log';
import { RedisFanout } from './redis-fanout';

/**
 * How often the database horizon is sampled while Redis is up. An outage is dated back to the
 * sample before the last one, so up to this long may pass between Redis failing and this
 * instance noticing it, plus the delay between a commit and its publish, without a loss.
 */
const SAMPLE_MS = 2000;
/**
 * Makes up for what Redis could not carry while it was away. A user on this instance kept
 * receiving this instance's notifications, so their newest id says nothing about what other
 * instances sent meanwhile; instead every instance dates each outage by a database horizon
 * (see NotificationRepository.horizon) taken before it began, and when Redis returns it:
 * - resends to each of its sockets what its inbox (its user in its scope) may see among rows
 *   committed since then;
 * - tells the other instances it is back, and if some of its publishes failed, its horizon,
 *   because those may be newer than the moment they reconnected (and so than their own resend);
 *   they also send again the disconnects they kept (see DeferredDisconnects);
 * - re-syncs its sockets' topic rooms (subscriptions made elsewhere meanwhile) and unread counts.
 * The client drops duplicates by id. Nothing is queued while Redis is away.
 */
@Injectable()
export class OutageRecovery implements OnApplicationShutdown {
  private readonly logger = new Logger('NotificationsModule');
  private samples: [older: string | null, newer: string | null] = [null, null];
  private timer?: NodeJS.Timeout;
  /** Horizon of the outage in progress; start-up counts as one until Redis is first reached. */
  private outage: Promise<string> | null = null;
  private pending: bigint | null = null;
  private running = false;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly notifications: NotificationRepository,
    private readonly subscriptions: SubscriptionRepository,
    private readonly reads: InboxReadRepository,
    private readonly namespace: InboxNamespace,
    private readonly recounter: UnreadRecounter,
    private readonly events: ClusterEvents,
    private readonly fanout: RedisFanout,
    private readonly delivered: DeliveredLog,
  ) {
    if (!fanout.enabled) return;
    this.outage = this.sample();
    events.on(ClusterEvent.Recover, ({ horizon, resend }) => {
      if (resend) this.resend(horizon);
    });
    fanout.onDown(() => this.down());
    fanout.onUp(() => void this.up());
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  private down(): void {
    clearInterval(this.timer);
    this.delivered.hold();
    const [older, newer] = this.samples;
    this.outage ??= Promise.resolve(older ?? newer ?? '0');
  }

  private async up(): Promise<void> {
    const outage = this.outage;
    this.outage = null;
    this.samples = [null, null];
    void this.sample().then((h) => (this.samples[1] ??= h));
    this.timer = setInterval(() => {
      void this.sample().then((h) => (this.samples = [this.samples[1], h]));
    }, SAMPLE_MS).unref();
    if (!outage || !this.namespace.current) return;
    const horizon = await outage;
    const recover: ClusterPayloads[typeof ClusterEvent.Recover] = { horizon, resend: this.fanout.takeLostPublishes() };
    this.events.emit(ClusterEvent.Recover, recover);
    this.resend(horizon);
  }

  /** The database horizon now; `'0'` (everything) if the database cannot say. */
  private sample(): Promise<string> {
    return this.notifications.horizon().catch((err: Error) => {
      this.logger.warn(`database horizon not sampled: ${err.message}`);
      return '0';
    });
  }

  /** Queues a resend from `horizon`; overlapping requests merge into one from the oldest. */
  private resend(horizon: string): void {
    const h = BigInt(horizon);
    if (this.pending === null || h < this.pending) this.pending = h;
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.pending !== null) {
        const horizon = String(this.pending);
        this.pending = null;
        await this.resendFrom(horizon);
      }
    } finally {
      this.running = false;
      if (this.fanout.up) this.delivered.release();
    }
  }

  /** Per inbox (a user in a scope): its sockets' rooms re-synced, and what it may have missed resent to them. */
  private async resendFrom(horizon: string): Promise<void> {
    const nsp = this.namespace.current;
    if (!nsp) return;
    const byInbox = new Map<string, { inbox: Inbox; sockets: Socket[] }>();
    for (const socket of nsp.sockets.values()) {
      const userId: string | undefined = socket.data.userId;
      if (!userId) continue;
      const inbox: Inbox = { userId, scope: socket.data.scope ?? null };
      const key = inboxKey(inbox);
      const group = byInbox.get(key) ?? { inbox, sockets: [] };
      byInbox.set(key, group);
      group.sockets.push(socket);
    }
    const inboxes = [...byInbox.values()].map((g) => g.inbox);
    // Every local inbox's rooms in one query; what each missed is its own read.
    const roomsOf = await this.subscriptions.roomsOfMany(inboxes).catch((err: Error) => {
      this.logger.warn(`catch-up after the Redis outage failed: ${err.message}`);
      return undefined;
    });
    for (const [key, { inbox, sockets }] of roomsOf ? byInbox : []) {
      try {
        const rows = await this.reads.committedSince(inbox, horizon, this.options.catchUpLimit);
        const wanted = new Set(memberRooms(roomsOf!.get(key) ?? { topics: [], mutedTypes: [] }, inbox.scope));
        for (const socket of sockets) {
          for (const room of socket.rooms) {
            if (isMemberRoom(room) && !wanted.has(room)) socket.leave(room);
          }
          socket.join([...wanted]);
        }
        const missed = rows.filter((row) => !this.delivered.delivered(inbox, row.id));
        for (const row of missed.reverse()) nsp.local.to(inboxRoom(inbox)).emit(ServerEvent.Notification, toPayload(row));
      } catch (err) {
        this.logger.warn(`catch-up after the Redis outage failed for a user: ${(err as Error).message}`);
      }
    }
    this.recounter.recountHere(new Set(inboxes.map((i) => i.userId)));
  }
}
