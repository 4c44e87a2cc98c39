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
 * Group commit for `notify` calls made outside a caller's transaction: a lone call is written
 * at once, concurrent calls share one multi-row INSERT (one round trip, one commit). Each call
 * still gets exactly its own rows back, and nothing is emitted before its statement commits.
 */
@Injectable()
export class NotificationWriter {
  private readonly statements = new Coalescer<NewNotificationRow[], (NotificationRow | null)[]>((batch) => this.flush(batch), {
    inFlight: MAX_IN_FLIGHT,
    batch: MAX_BATCH_ROWS,
    size: (rows) => rows.length,
    holdBehind: HOLD_BEHIND_ROWS,
  });

  constructor(private readonly notifications: NotificationRepository) {}

  write(rows: NewNotificationRow[]): Promise<(NotificationRow | null)[]> {
    return this.statements.add(rows);
  }

  private async flush(batch: Pending<NewNotificationRow[], (NotificationRow | null)[]>[]): Promise<void> {
    try {
      const stored = await this.notifications.insert(batch.flatMap((call) => call.input));
      let offset = 0;
      for (const call of batch) {
        call.resolve(stored.slice(offset, offset + call.input.length));
        offset += call.input.length;
      }
    } catch (err) {
      if (batch.length === 1 || !causedByRows(err)) {
        // Not one caller's data (the connection, the server): every call is told. Retrying
        // could store twice, since a statement whose reply was lost may have committed.
        for (const call of batch) call.reject(err);
        return;
      }
      // One call's rows failed the statement: retry each on its own, one at a time (this batch
      // keeps its in-flight slot), so the others are stored.
      for (const call of batch) await this.notifications.insert(call.input).then(call.resolve, call.reject);
    }
  }
}
