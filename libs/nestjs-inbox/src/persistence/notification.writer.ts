import { Injectable } from '@nestjs/common';
import { Coalescer, Pending } from './coalescer';
import { NewNotificationRow, NotificationRow } from './notification-row';
import { causedByRows } from './postgres-errors';
import { NotificationRepository } from './repositories/notification.repository';

/**
 * Statements in flight at once; calls that arrive meanwhile are coalesced into the next one.
 * Two keeps Postgres busy while the previous batch is emitted, and makes batches bigger than
 * four did (~17 rows with 50 callers): each statement is a round trip and a commit, the
 * costliest part of a `notify` (bench: throughput, server CPU per notification).
 */
const MAX_IN_FLIGHT = 2;
/** Rows in one statement at most. */
const MAX_BATCH_ROWS = 5000;
/**
 * A statement in flight with at least this many rows holds later calls for the next one. Without
 * it, under load, one statement carried nearly every caller while the other slot stored one row
 * at a time (bench 2: 370 statements for 30,000 rows, the median of one row; docs/performance.md
 * "Fifth round"). Below it (a quiet site: statements of a row or two) a call still goes at once.
 */
const HOLD_BEHIND_ROWS = 16;

/**
 * What a write becomes once its statement committed: `committed` runs in the statement's
 * settlement itself, for each of its calls in order, and what it returns (or throws) is the
 * call's answer (AfterCommitDelivery: the rows emitted, the caller's notifications). One
 * settlement per statement instead of a promise chain per call (each call's continuation, its
 * `.catch`, the async function around it): bench 2, docs/performance.md "Sixth round".
 */
export interface WriteHandler<C, R> {
  committed(stored: (NotificationRow | null)[], rows: NewNotificationRow[], context: C): R | PromiseLike<R>;
  /** Called with a failed statement's error: may throw the error the call rejects with instead. */
  failed?(err: unknown): void;
}

/** One `write`: its rows, and what to make of them once stored. */
interface WriteCall {
  rows: NewNotificationRow[];
  context: unknown;
  handler: WriteHandler<unknown, unknown>;
}

/** `write(rows)`: the stored rows themselves. */
const AS_STORED: WriteHandler<unknown, (NotificationRow | null)[]> = { committed: (stored) => stored };

/**
 * Group commit for `notify` calls made outside a caller's transaction: a lone call is written
 * at once, concurrent calls share one multi-row INSERT (one round trip, one commit). Each call
 * still gets exactly its own rows back, and nothing is emitted before its statement commits.
 */
@Injectable()
export class NotificationWriter {
  private readonly statements = new Coalescer<WriteCall, unknown>((batch) => this.flush(batch), {
    inFlight: MAX_IN_FLIGHT,
    batch: MAX_BATCH_ROWS,
    size: (call) => call.rows.length,
    holdBehind: HOLD_BEHIND_ROWS,
  });

  constructor(private readonly notifications: NotificationRepository) {}

  /** Resolves to, for each row, the stored row, or `null` where its dedupe key was used already. */
  write(rows: NewNotificationRow[]): Promise<(NotificationRow | null)[]>;
  /** Resolves to what `handler.committed` makes of the stored rows (see WriteHandler). */
  write<C, R>(rows: NewNotificationRow[], context: C, handler: WriteHandler<C, R>): Promise<R>;
  write(rows: NewNotificationRow[], context?: unknown, handler: WriteHandler<never, unknown> = AS_STORED): Promise<unknown> {
    return this.statements.add({ rows, context, handler: handler as WriteHandler<unknown, unknown> });
  }

  private async flush(batch: Pending<WriteCall, unknown>[]): Promise<void> {
    let stored: (NotificationRow | null)[];
    try {
      stored = await this.notifications.insert(batch.length === 1 ? batch[0].input.rows : batch.flatMap((call) => call.input.rows));
    } catch (err) {
      if (batch.length === 1 || !causedByRows(err)) {
        // Not one caller's data (the connection, the server): every call is told. Retrying
        // could store twice, since a statement whose reply was lost may have committed.
        for (const call of batch) fail(call, err);
        return;
      }
      // One call's rows failed the statement: retry each on its own, one at a time (this batch
      // keeps its in-flight slot), so the others are stored.
      for (const call of batch) {
        await this.notifications.insert(call.input.rows).then(
          (own) => settle(call, own),
          (e: unknown) => fail(call, e),
        );
      }
      return;
    }
    let offset = 0;
    for (const call of batch) {
      const n = call.input.rows.length;
      settle(call, batch.length === 1 ? stored : stored.slice(offset, offset + n));
      offset += n;
    }
  }
}

function settle(call: Pending<WriteCall, unknown>, stored: (NotificationRow | null)[]): void {
  const { rows, context, handler } = call.input;
  try {
    call.resolve(handler.committed(stored, rows, context));
  } catch (err) {
    call.reject(err);
  }
}

function fail(call: Pending<WriteCall, unknown>, err: unknown): void {
  try {
    call.input.handler.failed?.(err);
    call.reject(err);
  } catch (mapped) {
    call.reject(mapped);
  }
}
