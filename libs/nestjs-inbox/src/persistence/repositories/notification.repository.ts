import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { NewNotificationRow, NotificationRow } from '../notification-row';
import { INSERT_SQL } from '../sql/insert.sql';
import { StatementRunner } from '../statement-runner';

/** The notifications themselves: storing them, whether they are stored, the transaction horizon. */
@Injectable()
export class NotificationRepository {
  constructor(private readonly runner: StatementRunner) {}

  /**
   * Stores rows in one statement. Returns, for each input row, the stored row, or `null`
   * where a row with the same audience and dedupe key already existed.
   */
  async insert(rows: NewNotificationRow[], manager?: EntityManager): Promise<(NotificationRow | null)[]> {
    // No actions and no tags are stored as NULL and '{}' (what the columns hold for none).
    const values = [
      JSON.stringify(
        rows.map((r) => [
          r.userId,
          r.topic,
          r.type,
          r.title,
          r.body,
          r.data,
          r.dedupeKey,
          r.expiresAt,
          r.url,
          r.actions.length === 0 ? null : r.actions,
          r.actor,
          r.tags.length === 0 ? null : r.tags,
          r.scope,
        ]),
      ),
    ];
    const result = await this.runner.query<{ ord: string; id: string; created_ms: number }>(INSERT_SQL, values, {
      tx: manager,
      name: 'nestjs-inbox:insert',
    });
    const stored: (NotificationRow | null)[] = rows.map(() => null);
    for (const { ord, id, created_ms } of result) {
      const r = rows[Number(ord) - 1];
      stored[Number(ord) - 1] = {
        id,
        user_id: r.userId,
        topic: r.topic,
        scope: r.scope,
        type: r.type,
        title: r.title,
        body: r.body,
        data: r.data as NotificationRow['data'],
        url: r.url,
        actions: r.actions.length === 0 ? null : r.actions,
        actor: r.actor,
        tags: r.tags,
        created_at: new Date(created_ms),
        read_at: null,
      };
    }
    return stored;
  }

  /** Which of these ids are stored (committed, as seen from outside any transaction). */
  async existing(ids: string[]): Promise<Set<string>> {
    const rows = await this.runner.query<{ id: string }>(`SELECT id::text FROM inbox_notification WHERE id = ANY($1::bigint[])`, [ids]);
    return new Set(rows.map((r) => r.id));
  }

  /**
   * The oldest transaction still running: every row committed from now on has a `tx_id` at
   * least this (a transaction running now has an id at least this, a later one a larger one).
   */
  async horizon(): Promise<string> {
    const [{ horizon }] = await this.runner.query<{ horizon: string }>(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`);
    return horizon;
  }
}
