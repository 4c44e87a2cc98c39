import { Injectable, Logger } from '@nestjs/common';
import { ChannelPlanner } from '../channels/channel-planner';
import type { Context } from '@opentelemetry/api';
import type { EntityManager } from 'typeorm';
import { NewNotificationRow, NotificationRow, toPayload } from '../persistence/notification-row';
import { NotificationWriter, type WriteHandler } from '../persistence/notification.writer';
import { NotificationRepository } from '../persistence/repositories/notification.repository';
import { TransactionHooks } from '../persistence/transaction-hooks';
import type { Door } from '../observability/door';
import { InboxTelemetry, kindOf, nowMs, type Kind } from '../observability/inbox-telemetry';
import type { NotificationPayload } from '../protocol';
import { RoomEmitter } from '../realtime/room-emitter';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { asInputError } from './notification-input';

/** A stored notification, with its recipient (`null` for a broadcast or a topic). */
export interface StoredNotification extends NotificationPayload {
  userId: string | null;
}

/** What the writer's handler needs of a call beside its rows. */
interface WriteContext {
  door: Door;
  kind: Kind;
  /** The caller's context (the span's parent), for the delivery latency's record. */
  span: Context;
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
    private readonly telemetry: InboxTelemetry,
    private readonly planner: ChannelPlanner,
  ) {}

  /**
   * Returns what was stored: a row whose `dedupeKey` was used already stores nothing and is left
   * out. The rows are all of one kind (one call of the service). Traced as `inbox.notify`.
   */
  store(rows: NewNotificationRow[], manager?: EntityManager, door: Door = 'service'): Promise<StoredNotification[]> {
    const kind = kindOf({ user_id: rows[0]?.userId ?? null, topic: rows[0]?.topic ?? null });
    // Grouped rows are grouped in a transaction (their locks, the insert, the supersession),
    // never batched with other calls' rows by the writer.
    if (manager || rows.some((r) => r.group !== null)) {
      return this.telemetry.notify(door, kind, rows.length, manager !== undefined, (span) =>
        this.storeApart(rows, manager, door, kind, span),
      );
    }
    // The writer delivers each call's rows as its statement settles (`afterWrite`): no promise per call but the caller's.
    return this.telemetry.notify(door, kind, rows.length, false, (span) => this.writer.write(rows, { door, kind, span }, this.afterWrite));
  }

  /** What the writer does with each call's rows once their statement committed. */
  private readonly afterWrite: WriteHandler<WriteContext, StoredNotification[]> = {
    committed: (inserted, rows, { door, kind, span }) => this.deliverStored(inserted, rows, door, kind, span),
    failed: asInputError,
  };

  /** Rows stored in a transaction of their own (grouped ones) or of the caller's (`manager`). */
  private async storeApart(
    rows: NewNotificationRow[],
    manager: EntityManager | undefined,
    door: Door,
    kind: Kind,
    span: Context,
  ): Promise<StoredNotification[]> {
    const inserted = await this.notifications.insert(rows, manager).catch(asInputError);
    if (!manager) return this.deliverStored(inserted, rows, door, kind, span);
    const stored = inserted.filter((row): row is NotificationRow => row !== null);
    const choicesOf = this.choices(inserted, rows);
    // Counted and delivered once the caller commits (never if it rolls back). Channel sends
    // of direct rows are written in the caller's transaction (one statement); broadcasts'
    // and publications' are planned after commit, in the background (ChannelPlanner).
    if (stored.length > 0) {
      if (this.planner.enabled) await this.planner.planDirect(stored, choicesOf(stored), manager);
      this.hooks.afterCommit(manager, () => {
        const committedAt = nowMs();
        void this.telemetry.deliverAfterCommit(span, () =>
          this.deliverCommitted(stored, rows.length, door, committedAt, (committed) => {
            if (this.planner.enabled) this.planner.planShared(committed, choicesOf(committed));
          }),
        );
      });
    }
    return stored.map((row) => withRecipient(toPayload(row), row.user_id));
  }

  /**
   * Rows the library committed itself: counted, emitted, and what the caller gets back. Direct
   * rows' channel sends are planned before it returns, shared ones' in the background.
   */
  private deliverStored(
    inserted: (NotificationRow | null)[],
    rows: NewNotificationRow[],
    door: Door,
    kind: Kind,
    span: Context,
  ): StoredNotification[] | Promise<StoredNotification[]> {
    const committedAt = nowMs();
    const stored: NotificationRow[] = [];
    for (const row of inserted) if (row !== null) stored.push(row);
    this.telemetry.recordStored(door, kind, stored.length, rows.length);
    if (stored.length === 0) return [];
    // Built once: for the emit and for what the caller gets back (CPU per notification, bench 2).
    const payloads = stored.map(toPayload);
    this.recounter.refresh(this.emitter.deliver(stored, { payloads }));
    this.telemetry.recordDelivered(door, stored, committedAt, span);
    const result = stored.map((row, i) => withRecipient(payloads[i], row.user_id));
    if (!this.planner.enabled) return result;
    const choicesOf = this.choices(inserted, rows);
    return this.planner.plan(stored, choicesOf(stored)).then(() => result);
  }

  /**
   * Each stored row's own choice of channels (not a column: planned after commit); without
   * channels configured nothing reads it, so the hot path builds nothing.
   */
  private choices(inserted: (NotificationRow | null)[], rows: NewNotificationRow[]) {
    const choices = this.planner.enabled
      ? new Map(inserted.flatMap((row, i) => (row && rows[i].channels ? [[row.id, rows[i].channels]] : [])))
      : null;
    return (rs: NotificationRow[]) => rs.map((r) => choices?.get(r.id));
  }

  /**
   * After the caller's COMMIT, delivers the rows that really are stored. Postgres answers COMMIT
   * in a transaction that had failed (a statement error the caller caught without a savepoint)
   * by rolling back, without an error, and TypeORM still reports a commit: one primary-key
   * lookup keeps "nothing is delivered that is not committed" true in that case too.
   */
  private async deliverCommitted(
    rows: NotificationRow[],
    requested: number,
    door: Door,
    committedAt: number,
    planShared: (committed: NotificationRow[]) => void,
  ): Promise<void> {
    try {
      const stored = await this.notifications.existing(rows.map((r) => r.id));
      const committed = rows.filter((r) => stored.has(r.id));
      if (committed.length > 0) {
        this.telemetry.recordStored(door, kindOf(committed[0]), committed.length, committed.length + requested - rows.length);
        this.recounter.refresh(this.emitter.deliver(committed));
        this.telemetry.recordDelivered(door, committed, committedAt);
        planShared(committed);
      }
    } catch (err) {
      // The rows are stored: the users get them on their next connection (catch-up) or list.
      this.logger.warn(`delivery after commit not checked, so not sent live: ${(err as Error).message}`);
    }
  }
}

/**
 * What `store` returns for a row: its payload and its recipient, written out field by field (a
 * fixed shape, built in one step) where `{ ...payload, userId }` went through V8's generic
 * object spread per row (bench 2's profile, docs/performance.md).
 */
function withRecipient(p: NotificationPayload, userId: string | null): StoredNotification {
  return {
    id: p.id,
    type: p.type,
    title: p.title,
    body: p.body,
    data: p.data,
    topic: p.topic,
    scope: p.scope,
    broadcast: p.broadcast,
    createdAt: p.createdAt,
    seenAt: p.seenAt,
    readAt: p.readAt,
    archived: p.archived,
    url: p.url,
    actions: p.actions,
    actor: p.actor,
    tags: p.tags,
    group: p.group,
    replaces: p.replaces,
    userId,
  };
}
