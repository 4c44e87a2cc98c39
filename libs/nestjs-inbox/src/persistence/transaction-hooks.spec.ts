import { Logger } from '@nestjs/common';
import type { DataSource, EntityManager, EntitySubscriberInterface, QueryRunner } from 'typeorm';
import { TransactionHooks } from './transaction-hooks';

type TransactionEvent =
  | 'beforeTransactionStart'
  | 'afterTransactionStart'
  | 'beforeTransactionCommit'
  | 'afterTransactionCommit'
  | 'beforeTransactionRollback'
  | 'afterTransactionRollback';

/** Only what TransactionHooks reads of a DataSource. */
interface FakeDataSource {
  subscribers: EntitySubscriberInterface[];
}

/**
 * A query runner that walks through TypeORM's PostgresQueryRunner start/commit/rollback in the
 * same order (typeorm/driver/postgres/PostgresQueryRunner.js), minus the SQL:
 * `isTransactionActive` turns true before BEGIN (and before BeforeTransactionStart), turns false
 * right after the outermost COMMIT/ROLLBACK, and the After* event is broadcast after that and
 * after the depth changed. Nested calls are savepoints. `level` is the fake's own bookkeeping
 * (TypeORM's protected `transactionDepth`); TransactionHooks never sees it.
 */
class FakeRunner {
  isTransactionActive = false;
  level = 0;
  readonly manager = { queryRunner: this } as unknown as EntityManager;
  /** What the database did, in order, for assertions on timing. */
  readonly log: string[] = [];

  constructor(private readonly dataSource: FakeDataSource) {}

  startTransaction(): void {
    this.isTransactionActive = true;
    this.broadcast('beforeTransactionStart');
    this.log.push(this.level === 0 ? 'START TRANSACTION' : `SAVEPOINT typeorm_${this.level}`);
    this.level += 1;
    this.broadcast('afterTransactionStart');
  }

  commitTransaction(): void {
    if (!this.isTransactionActive) throw new Error('Transaction is not started yet');
    this.broadcast('beforeTransactionCommit');
    if (this.level > 1) {
      this.log.push(`RELEASE SAVEPOINT typeorm_${this.level - 1}`);
    } else {
      this.log.push('COMMIT');
      this.isTransactionActive = false;
    }
    this.level -= 1;
    this.broadcast('afterTransactionCommit');
  }

  rollbackTransaction(): void {
    if (!this.isTransactionActive) throw new Error('Transaction is not started yet');
    this.broadcast('beforeTransactionRollback');
    if (this.level > 1) {
      this.log.push(`ROLLBACK TO SAVEPOINT typeorm_${this.level - 1}`);
    } else {
      this.log.push('ROLLBACK');
      this.isTransactionActive = false;
    }
    this.level -= 1;
    this.broadcast('afterTransactionRollback');
  }

  /** As TypeORM's Broadcaster: every subscriber with the hook, in registration order. */
  private broadcast(event: TransactionEvent): void {
    const payload = {
      dataSource: this.dataSource,
      connection: this.dataSource,
      queryRunner: this as unknown as QueryRunner,
      manager: this.manager,
    };
    for (const subscriber of [...this.dataSource.subscribers]) {
      (subscriber[event] as ((e: typeof payload) => unknown) | undefined)?.(payload);
    }
  }
}

function setup() {
  const dataSource: FakeDataSource = { subscribers: [] };
  const hooks = new TransactionHooks(dataSource as unknown as DataSource);
  hooks.onModuleInit();
  const runner = () => new FakeRunner(dataSource);
  return { dataSource, hooks, runner };
}

/** Work that records its name in `ran`, flagged if `runner`'s transaction was still open when it ran. */
function recorder(runner?: FakeRunner) {
  const ran: string[] = [];
  const work = (name: string) => () => void ran.push(runner?.isTransactionActive ? `${name} (inside the transaction!)` : name);
  return { ran, work };
}

describe('TransactionHooks', () => {
  let logError: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    logError = vi.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('runs work at once for a manager outside any transaction', () => {
    const { hooks, runner } = setup();
    const { ran, work } = recorder();

    // The DataSource's own manager has no query runner.
    hooks.afterCommit({} as EntityManager, work('no runner'));
    // A runner with no transaction open (between transactions, or never used for one).
    const idle = runner();
    hooks.afterCommit(idle.manager, work('idle runner'));
    idle.startTransaction();
    idle.commitTransaction();
    hooks.afterCommit(idle.manager, work('after commit'));

    expect(ran).toEqual(['no runner', 'idle runner', 'after commit']);
    expect(logError).not.toHaveBeenCalled();
  });

  it('runs work queued in a transaction only after its COMMIT, once, in the order it was queued', () => {
    const { dataSource, hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);
    const atCommit: string[][] = [];
    // Another subscriber looks at what has run when the commit is about to happen.
    dataSource.subscribers.push({ beforeTransactionCommit: () => void atCommit.push([...ran]) });

    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('first'));
    hooks.afterCommit(qr.manager, work('second'));
    expect(ran).toEqual([]);

    qr.commitTransaction();
    expect(atCommit).toEqual([[]]);
    expect(ran).toEqual(['first', 'second']);
    expect(qr.log).toEqual(['START TRANSACTION', 'COMMIT']);

    // The next transaction on the same runner does not run them again.
    qr.startTransaction();
    qr.commitTransaction();
    expect(ran).toEqual(['first', 'second']);
    expect(logError).not.toHaveBeenCalled();
  });

  it('drops work queued in a transaction that rolls back, for good', () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('rolled back'));
    qr.rollbackTransaction();
    expect(ran).toEqual([]);

    // A later transaction on the same runner commits only its own work.
    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('next'));
    qr.commitTransaction();
    expect(ran).toEqual(['next']);
  });

  it("drops a rolled-back savepoint's work, while the outer transaction's work runs at its commit", () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('outer before'));
    qr.startTransaction(); // SAVEPOINT typeorm_1
    hooks.afterCommit(qr.manager, work('savepoint'));
    qr.startTransaction(); // SAVEPOINT typeorm_2
    hooks.afterCommit(qr.manager, work('inner savepoint'));
    qr.rollbackTransaction(); // ROLLBACK TO SAVEPOINT typeorm_2
    hooks.afterCommit(qr.manager, work('savepoint after inner rollback'));
    qr.rollbackTransaction(); // ROLLBACK TO SAVEPOINT typeorm_1
    hooks.afterCommit(qr.manager, work('outer after'));
    expect(ran).toEqual([]);

    qr.commitTransaction();
    expect(ran).toEqual(['outer before', 'outer after']);
    expect(qr.log).toEqual([
      'START TRANSACTION',
      'SAVEPOINT typeorm_1',
      'SAVEPOINT typeorm_2',
      'ROLLBACK TO SAVEPOINT typeorm_2',
      'ROLLBACK TO SAVEPOINT typeorm_1',
      'COMMIT',
    ]);
  });

  it("keeps a released savepoint's work waiting for the outer COMMIT", () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('released savepoint'));
    qr.commitTransaction(); // RELEASE SAVEPOINT typeorm_1
    expect(ran).toEqual([]);

    qr.commitTransaction();
    expect(ran).toEqual(['released savepoint']);
  });

  it("drops a released savepoint's work when the outer transaction rolls back", () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('released savepoint'));
    qr.commitTransaction(); // RELEASE SAVEPOINT typeorm_1
    qr.rollbackTransaction(); // ROLLBACK
    expect(ran).toEqual([]);

    qr.startTransaction();
    qr.commitTransaction();
    expect(ran).toEqual([]);
  });

  it('counts a released savepoint as part of its parent: a later sibling savepoint rolling back keeps it', () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    qr.startTransaction(); // SAVEPOINT typeorm_1
    qr.startTransaction(); // SAVEPOINT typeorm_2
    hooks.afterCommit(qr.manager, work('released'));
    qr.commitTransaction(); // RELEASE SAVEPOINT typeorm_2: now part of typeorm_1
    qr.startTransaction(); // SAVEPOINT typeorm_2 again, a sibling
    hooks.afterCommit(qr.manager, work('sibling'));
    qr.rollbackTransaction(); // ROLLBACK TO SAVEPOINT typeorm_2: the sibling only
    qr.commitTransaction(); // RELEASE SAVEPOINT typeorm_1
    expect(ran).toEqual([]);

    qr.commitTransaction();
    expect(ran).toEqual(['released']);
  });

  it("drops a released savepoint's work when its parent savepoint rolls back", () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('outer'));
    qr.startTransaction(); // SAVEPOINT typeorm_1
    qr.startTransaction(); // SAVEPOINT typeorm_2
    hooks.afterCommit(qr.manager, work('released'));
    qr.commitTransaction(); // RELEASE SAVEPOINT typeorm_2
    qr.rollbackTransaction(); // ROLLBACK TO SAVEPOINT typeorm_1: undoes the released one too
    qr.commitTransaction();
    expect(ran).toEqual(['outer']);
  });

  it('runs the other work items when one throws, and logs the failure instead of failing the commit', () => {
    const { hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('before'));
    hooks.afterCommit(qr.manager, () => {
      throw new Error('socket gone');
    });
    hooks.afterCommit(qr.manager, work('after'));

    expect(() => qr.commitTransaction()).not.toThrow();
    expect(ran).toEqual(['before', 'after']);
    expect(logError).toHaveBeenCalledTimes(1);
    expect(String(logError.mock.calls[0][0])).toContain('socket gone');
  });

  it('lets work queued outside a transaction throw to its caller (it runs synchronously)', () => {
    const { hooks } = setup();
    expect(() =>
      hooks.afterCommit({} as EntityManager, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });

  it('keeps the work of two query runners apart', () => {
    const { hooks, runner } = setup();
    const a = runner();
    const b = runner();
    const { ran, work } = recorder();

    a.startTransaction();
    b.startTransaction();
    hooks.afterCommit(a.manager, work('a outer'));
    b.startTransaction(); // b in a savepoint, a not
    hooks.afterCommit(b.manager, work('b savepoint'));
    a.startTransaction(); // a in a savepoint too
    hooks.afterCommit(a.manager, work('a savepoint'));
    hooks.afterCommit(b.manager, work('b savepoint 2'));

    b.commitTransaction(); // RELEASE on b: a's savepoint is still open
    a.rollbackTransaction(); // ROLLBACK TO SAVEPOINT on a: b's released work must survive
    expect(ran).toEqual([]);

    b.commitTransaction();
    expect(ran).toEqual(['b savepoint', 'b savepoint 2']);

    a.commitTransaction();
    expect(ran).toEqual(['b savepoint', 'b savepoint 2', 'a outer']);
  });

  it("counts savepoint levels per runner: another runner's savepoints do not shift them", () => {
    const { hooks, runner } = setup();
    const a = runner();
    const b = runner();
    const { ran, work } = recorder(a);

    a.startTransaction();
    b.startTransaction();
    b.startTransaction(); // b two levels deep while a queues at its outer level
    hooks.afterCommit(a.manager, work('a outer'));
    b.rollbackTransaction();
    a.startTransaction(); // a's first savepoint
    a.rollbackTransaction(); // undoes only what a queued inside it: nothing
    a.commitTransaction();
    expect(ran).toEqual(['a outer']);
  });

  it('keeps one runner rolling back from touching the work of another', () => {
    const { hooks, runner } = setup();
    const a = runner();
    const b = runner();
    const { ran, work } = recorder();

    a.startTransaction();
    b.startTransaction();
    hooks.afterCommit(a.manager, work('a'));
    hooks.afterCommit(b.manager, work('b'));
    b.rollbackTransaction();
    expect(ran).toEqual([]);
    a.commitTransaction();
    expect(ran).toEqual(['a']);
  });

  it('takes a transaction opened before it subscribed as one level (work runs at COMMIT, dropped at ROLLBACK)', () => {
    const dataSource: FakeDataSource = { subscribers: [] };
    const committing = new FakeRunner(dataSource);
    const rollingBack = new FakeRunner(dataSource);
    const { ran, work } = recorder();
    // No subscriber yet: these starts are not counted.
    committing.startTransaction();
    rollingBack.startTransaction();

    const hooks = new TransactionHooks(dataSource as unknown as DataSource);
    hooks.onModuleInit();
    hooks.afterCommit(committing.manager, work('committed'));
    hooks.afterCommit(rollingBack.manager, work('rolled back'));
    expect(ran).toEqual([]);

    rollingBack.rollbackTransaction();
    committing.commitTransaction();
    expect(ran).toEqual(['committed']);
    // Nothing of the rolled-back one left over for the runner's next transaction.
    rollingBack.startTransaction();
    rollingBack.commitTransaction();
    expect(ran).toEqual(['committed']);
  });

  it('subscribes on init and removes only its own subscriber on destroy', () => {
    const dataSource: FakeDataSource = { subscribers: [] };
    const before: EntitySubscriberInterface = { afterTransactionCommit: () => undefined };
    const after: EntitySubscriberInterface = { afterTransactionCommit: () => undefined };
    const hooks = new TransactionHooks(dataSource as unknown as DataSource);

    dataSource.subscribers.push(before);
    hooks.onModuleInit();
    dataSource.subscribers.push(after);
    expect(dataSource.subscribers).toHaveLength(3);
    const own = dataSource.subscribers[1];
    expect(own.afterTransactionStart).toBeTypeOf('function');
    expect(own.afterTransactionCommit).toBeTypeOf('function');
    expect(own.afterTransactionRollback).toBeTypeOf('function');

    hooks.onModuleDestroy();
    expect(dataSource.subscribers).toEqual([before, after]);
    // Twice is harmless: nobody else's subscriber goes.
    hooks.onModuleDestroy();
    expect(dataSource.subscribers).toEqual([before, after]);
  });

  it('no longer hears commits once destroyed', () => {
    const { dataSource, hooks, runner } = setup();
    const qr = runner();
    const { ran, work } = recorder(qr);

    qr.startTransaction();
    hooks.afterCommit(qr.manager, work('pending at shutdown'));
    hooks.onModuleDestroy();
    expect(dataSource.subscribers).toEqual([]);
    qr.commitTransaction();
    expect(ran).toEqual([]);
  });
});
