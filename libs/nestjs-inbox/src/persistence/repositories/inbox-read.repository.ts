import type { EntityManager } from 'typeorm';
import { Injectable } from '@nestjs/common';
import { type Inbox, inboxKey, scopeColumn, type View } from '../inbox-model';
import type { NotificationRow } from '../notification-row';
import { catchUpsSql, committedSinceSql, TOPIC_COMMITTED_SINCE_SQL } from '../sql/catch-up.sql';
import { badgesSql, countsSql } from '../sql/counts.sql';
import { params } from '../sql/params';
import { pageSql } from '../sql/views.sql';
import { StatementRunner } from '../statement-runner';

/** A user's badge: unread in the inbox, and unseen (what the bell shows). */
export interface Badge {
  unread: number;
  unseen: number;
}

/** A connecting socket's read: its inbox, and its cursor and the older ids it holds (none on a first visit). */
export interface CatchUpRead {
  inbox: Inbox;
  cursor: string | null;
  held: string[];
}

/**
 * What users see of their inboxes: pages of views, counts and badges, a connecting socket's
 * catch-up, and what committed since a horizon. Reads of many users are one statement, without
 * JIT (see queryPoolWithoutJit).
 */
@Injectable()
export class InboxReadRepository {
  constructor(private readonly runner: StatementRunner) {}

  /** A page of `view` of `inbox`, newest first. */
  list(inbox: Inbox, view: View, limit: number, tx?: EntityManager): Promise<NotificationRow[]> {
    const { values, param } = params(3);
    return this.runner.query(pageSql('$1', '$2', '$3', view, param), [inbox.userId, scopeColumn(inbox), limit, ...values], { tx });
  }

  /**
   * How many notifications `view` holds, counted up to `limit` (the page statement of `list`
   * cut at `limit`, so it costs what `limit` rows cost, never the history), and the newest one's id.
   */
  async countUpTo(inbox: Inbox, view: View, limit: number): Promise<{ count: number; newest: string | null }> {
    const { values, param } = params(3);
    const [row] = await this.runner.query<{ count: number; newest: string | null }>(
      `SELECT count(*)::int AS count, max(p.id)::text AS newest FROM (${pageSql('$1', '$2', '$3', view, param)}) p`,
      [inbox.userId, scopeColumn(inbox), limit, ...values],
    );
    return row;
  }

  /** Each view's count (see viewCount), in one statement. */
  async counts(inbox: Inbox, views: View[]): Promise<number[]> {
    if (views.length === 0) return [];
    return (await this.countsOfMany([inbox], views)).get(inboxKey(inbox))!;
  }

  /** The counts of the same views for several inboxes, in one statement, by inboxKey. */
  async countsOfMany(inboxes: Inbox[], views: View[]): Promise<Map<string, number[]>> {
    const { values, param } = params(2);
    const rows = await this.runner.query<Record<string, number | string>>(
      countsSql(views, param),
      [inboxes.map((i) => i.userId), inboxes.map(scopeColumn), ...values],
      { withoutJit: inboxes.length > 1 },
    );
    return new Map(rows.map((r) => [inboxKey(inboxes[Number(r.ord) - 1]), views.map((_, i) => Number(r[`c${i}`]))]));
  }

  /** The badges of several inboxes in one query, by inboxKey. */
  /** One inbox's badge (see `badges`). */
  async badge(inbox: Inbox): Promise<Badge> {
    return (await this.badges([inbox])).get(inboxKey(inbox))!;
  }

  async badges(inboxes: Inbox[]): Promise<Map<string, Badge>> {
    const rows = await this.runner.query<{ ord: string; unread: number; unseen: number }>(
      badgesSql(),
      [inboxes.map((i) => i.userId), inboxes.map(scopeColumn)],
      { withoutJit: inboxes.length > 1 },
    );
    return new Map(rows.map((r) => [inboxKey(inboxes[Number(r.ord) - 1]), { unread: Number(r.unread), unseen: Number(r.unseen) }]));
  }

  /**
   * The reads of many connecting sockets in one statement (a reconnect storm costs a few
   * statements, not one per socket): for each, its catch-up (see catchUpsSql, `limit` rows at
   * most) and its badge. All of one kind: with a cursor each, or none (the inbox's newest page).
   */
  async catchUps(
    sockets: CatchUpRead[],
    limit: number,
    graceMs: number,
  ): Promise<{ rows: NotificationRow[]; badge: Badge; newest: string | null }[]> {
    const withCursor = sockets[0].cursor !== null;
    type Read = NotificationRow & { ord: string; unread: number; unseen: number; newest: string | null };
    const result = await this.runner.query<Read>(
      catchUpsSql(withCursor),
      [
        sockets.map((s) => s.inbox.userId),
        sockets.map((s) => scopeColumn(s.inbox)),
        sockets.map((s) => s.cursor),
        sockets.map((s) => s.held.join(',')),
        limit,
        ...(withCursor ? [graceMs] : []),
      ],
      // A storm's batches are often of one or two sockets: planned for their values each time,
      // they cost Postgres ~9 times what the generic plan does (queryPoolWithoutJit).
      { genericPlan: true },
    );
    const out = sockets.map(() => ({ rows: [] as NotificationRow[], badge: { unread: 0, unseen: 0 }, newest: null as string | null }));
    for (const { ord, unread, unseen, newest, ...row } of result) {
      const socket = out[Number(ord) - 1];
      socket.badge = { unread: Number(unread), unseen: Number(unseen) };
      socket.newest = newest;
      if (row.id !== null) socket.rows.push(row);
    }
    return out;
  }

  /** What `inbox` shows among rows committed since `horizon()` returned `horizon`, newest first (among the newest `limit` of each stream). */
  committedSince(inbox: Inbox, horizon: string, limit: number): Promise<NotificationRow[]> {
    return this.runner.query(committedSinceSql(), [inbox.userId, scopeColumn(inbox), limit, horizon]);
  }

  /**
   * What `inbox` shows of `topic`'s stream in its scope (the subscription (user, topic, scope))
   * among rows committed since `horizon()` returned `horizon`, after the stream's position `after`.
   */
  topicCommittedSince(inbox: Inbox, topic: string, horizon: string, after: string): Promise<NotificationRow[]> {
    return this.runner.query(TOPIC_COMMITTED_SINCE_SQL, [inbox.userId, scopeColumn(inbox), topic, horizon, after]);
  }
}
