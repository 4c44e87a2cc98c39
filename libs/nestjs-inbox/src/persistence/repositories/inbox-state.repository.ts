import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { type Inbox, type Mark, scopeColumn, type View } from '../inbox-model';
import { MarkAll, markAllSql, markSql } from '../sql/marks.sql';
import { params } from '../sql/params';
import { StatementRunner } from '../statement-runner';

/** Changes of a user's notifications' state: seen, read, archived, unarchived, deleted. */
@Injectable()
export class InboxStateRepository {
  constructor(private readonly runner: StatementRunner) {}

  /**
   * Sets `change` on the notifications among `ids` that `inbox` shows and that it changes (not
   * deleted, not already in that state): direct rows in place, shared rows in the user's
   * receipts. Another scope's ids are ignored like another user's. Returns the ids changed.
   */
  async mark(inbox: Inbox, change: Mark, ids: string[], tx?: EntityManager): Promise<string[]> {
    const rows = await this.runner.query<{ id: string }>(markSql(change), [inbox.userId, scopeColumn(inbox), ids], { tx });
    return rows.map((r) => r.id);
  }

  /**
   * Sets `change` on everything `inbox` shows (its scope's and the unscoped notifications), in
   * O(subscriptions) (see markAllSql). Returns
   * how many notifications of the inbox it changed, counted as `count` counts them (unread for
   * read, unseen for seen; for archived and deleted, its unread ones), before the change.
   */
  async markAll(inbox: Inbox, change: MarkAll, count: View): Promise<number> {
    const { values, param } = params(2);
    const [{ count: before }] = await this.runner.query<{ count: number }>(markAllSql(change, count, param), [
      inbox.userId,
      scopeColumn(inbox),
      ...values,
    ]);
    return Number(before);
  }
}
