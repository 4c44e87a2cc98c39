import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { INBOX_DATA_SOURCE } from '../notifications.internal-constants';

interface Pending {
  /** Transaction depth (savepoint level) the work was queued at. */
  depth: number;
  run: () => void;
}

/**
 * Runs work after the caller's transaction commits, and drops it if it rolls back.
 * TypeORM has no per-transaction hook, so this listens to the DataSource's transaction
 * events and keys pending work by query runner. Savepoints are honoured: work queued inside a
 * nested transaction that rolls back is dropped; if it commits, it waits for the outer one.
 * The savepoint level is counted from the same public events (TypeORM fires them for every
 * level), not read from the runner's protected `transactionDepth`.
 */
@Injectable()
export class TransactionHooks implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private readonly pending = new WeakMap<QueryRunner, Pending[]>();
  /** Open transaction levels per runner: 1 in a transaction, 2 inside its first savepoint, … */
  private readonly depths = new WeakMap<QueryRunner, number>();

  constructor(@Inject(INBOX_DATA_SOURCE) private readonly dataSource: DataSource) {}

  private readonly subscriber: EntitySubscriberInterface = {
    afterTransactionStart: ({ queryRunner }) => void this.depths.set(queryRunner, (this.depths.get(queryRunner) ?? 0) + 1),
    afterTransactionCommit: ({ queryRunner }) => this.settle(queryRunner, true),
    afterTransactionRollback: ({ queryRunner }) => this.settle(queryRunner, false),
  };

  /**
   * A transaction opened before this module subscribed (a host's own start-up work) has no
   * count: it is taken as one level, so its work runs at its commit.
   */
  private depthOf(runner: QueryRunner): number {
    const depth = this.depths.get(runner) ?? 0;
    return runner.isTransactionActive ? Math.max(depth, 1) : 0;
  }

  onModuleInit(): void {
    this.dataSource.subscribers.push(this.subscriber);
  }

  /** The DataSource may outlive the module (shared by several apps, or by tests). */
  onModuleDestroy(): void {
    const at = this.dataSource.subscribers.indexOf(this.subscriber);
    if (at >= 0) this.dataSource.subscribers.splice(at, 1);
  }

  /** `run` now when `manager` is outside a transaction, else once it has committed. */
  afterCommit(manager: EntityManager, run: () => void): void {
    const runner = manager.queryRunner;
    if (!runner?.isTransactionActive) return run();
    const list = this.pending.get(runner) ?? [];
    list.push({ depth: this.depthOf(runner), run });
    this.pending.set(runner, list);
  }

  private settle(runner: QueryRunner, committed: boolean): void {
    const depth = runner.isTransactionActive ? Math.max((this.depths.get(runner) ?? 1) - 1, 1) : 0;
    this.depths.set(runner, depth);
    const list = this.pending.get(runner);
    if (!list) return;
    if (!committed) {
      const kept = list.filter((p) => p.depth <= depth);
      if (kept.length) this.pending.set(runner, kept);
      else this.pending.delete(runner);
      return;
    }
    if (depth > 0) {
      // A savepoint was released: its work now waits for the enclosing transaction.
      for (const p of list) p.depth = Math.min(p.depth, depth);
      return;
    }
    this.pending.delete(runner);
    for (const p of list) {
      try {
        p.run();
      } catch (err) {
        // Never fail the host's commit because of delivery.
        this.logger.error(`delivery after commit failed: ${(err as Error).message}`);
      }
    }
  }
}
