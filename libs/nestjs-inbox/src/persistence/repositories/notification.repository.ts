import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { NewNotificationRow, NotificationRow } from '../notification-row';
import type { Actor } from '../../protocol';
import { INSERT_SQL } from '../sql/insert.sql';
import { StatementRunner } from '../statement-runner';

/** The notifications themselves: storing them, whether they are stored, the transaction horizon. */
@Injectable()
export class NotificationRepository {
  constructor(private readonly runner: StatementRunner) {}

  /**
   * Stores rows in one statement. Returns, for each input row, the stored row, or `null`
   * where a row with the same audience and dedupe key already existed. Rows with a group
   * (docs/groups.md) are grouped in a transaction (`manager`'s, else one of their own): their
   * groups' locks first (inbox_group_lock), then the insert, then inbox_group, which supersedes
   * each group's item the row joins.
   */
  async insert(rows: NewNotificationRow[], manager?: EntityManager): Promise<(NotificationRow | null)[]> {
    if (rows.length === 0) return [];
    const grouped = rows.some((r) => r.group !== null);
    if (grouped && !manager?.queryRunner?.isTransactionActive) {
      // The locks last until the transaction ends: without one they would end with their statement.
      return (manager ?? this.runner.manager).transaction((tx) => this.insert(rows, tx));
    }
    // Past here, a grouped call has a transaction (manager).
    if (grouped) await this.lock(rows, manager!);
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
          r.group,
        ]),
      ),
    ];
    const [{ ids, created_ms }] = await this.runner.query<{ ids: string; created_ms: number | null }>(INSERT_SQL, values, {
      tx: manager,
      name: 'nestjs-inbox:insert',
    });
    // One Date for the statement's rows (they share it: the transaction's start).
    const createdAt = created_ms === null ? null : new Date(created_ms);
    const stored = ids.split(',').map((id, i): NotificationRow | null => {
      if (id === '') return null;
      const r = rows[i];
      return {
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
        created_at: createdAt!,
        read_at: null,
        group_key: r.group,
        group_count: null,
        group_actors: null,
        replaces: null,
      };
    });
    if (grouped) await this.group(stored, manager!);
    return stored;
  }

  /**
   * Takes the group locks of `rows` for `tx` (inbox_group_lock), in a statement before the
   * insert's: one call per (scope, key), each locking its users in one order (a notify call
   * has one scope and key).
   */
  private async lock(rows: NewNotificationRow[], tx: EntityManager): Promise<void> {
    const locks = new Map<string, { scope: string; key: string; users: string[] }>();
    for (const r of rows) {
      if (r.group === null || r.userId === null) continue;
      const id = JSON.stringify([r.scope ?? '', r.group]);
      const lock = locks.get(id) ?? { scope: r.scope ?? '', key: r.group, users: [] };
      lock.users.push(r.userId);
      locks.set(id, lock);
    }
    for (const [, lock] of [...locks].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      await this.runner.query(`SELECT inbox_group_lock($1::text[], $2, $3)`, [lock.users, lock.scope, lock.key], { tx });
    }
  }

  /** Groups the grouped rows just stored (inbox_group) and sets their group columns. */
  private async group(stored: (NotificationRow | null)[], tx: EntityManager): Promise<void> {
    const byId = new Map(stored.filter((r): r is NotificationRow => r !== null && !!r.group_key).map((r) => [r.id, r]));
    if (byId.size === 0) return;
    const grouped = await this.runner.query<{ id: string; group_count: number; group_actors: Actor[]; replaces: string | null }>(
      `SELECT id::text, group_count, group_actors, replaces::text FROM inbox_group($1::bigint[])`,
      [[...byId.keys()]],
      { tx },
    );
    for (const g of grouped) {
      const row = byId.get(g.id)!;
      row.group_count = g.group_count;
      row.group_actors = g.group_actors;
      row.replaces = g.replaces;
    }
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
