import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { INBOX_DATA_SOURCE } from '../notifications.internal-constants';

/** Savepoint level of a query runner (protected in TypeORM's typings, stable across 0.3). */
const depthOf = (runner: QueryRunner): number =>
  runner.isTransactionActive ? ((runner as unknown as { transactionDepth?: number }).transactionDepth ?? 1) : 0;

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
 */
@Injectable()
export class TransactionHooks implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private readonly pending = new WeakMap<QueryRunner, Pending[]>();

  constructor(@Inject(INBOX_DATA_SOURCE) private readonly dataSource: DataSource) {}

  private readonly subscriber: EntitySubscriberInterface = {
    afterTransactionCommit: ({ queryRunner }) => this.settle(queryRunner, true),
    afterTransactionRollback: ({ queryRunner }) => this.settle(queryRunner, false),
  };

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
    list.push({ depth: depthOf(runner), run });
    this.pending.set(runner, list);
  }

  private settle(runner: QueryRunner, committed: boolean): void {
    const list = this.pending.get(runner);
    if (!list) return;
    const depth = depthOf(runner);
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
