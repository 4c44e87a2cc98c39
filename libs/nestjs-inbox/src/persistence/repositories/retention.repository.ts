import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { StatementRunner } from '../statement-runner';

/**
 * One batch of the retention job: among the oldest $2 rows, the direct ones older than $1 days
 * (none if null); per stream (topic, scope) they touch, its oldest positions older than $1 days up to the first
 * younger one; up to $2 expired direct rows; up to $2 expired shared rows lose their content
 * (their position stays), and the live deliveries recorded for the rows it deleted. Returns `n`, the rows deleted or emptied.
 * Both expired walks keep to `inbox_notification_expiring_idx`, whose condition their own imply
 * (InboxAudienceExpiryIndexes): the rows still to delete or empty, not the emptied ones kept.
 */
export const PRUNE_SQL = `WITH cutoff AS (SELECT now() - $1::int * interval '1 day' AS at WHERE $1::int IS NOT NULL),
       oldest AS (
         SELECT id, user_id, topic, scope, created_at FROM inbox_notification ORDER BY id LIMIT $2
       ), old_direct AS (
         DELETE FROM inbox_notification n USING oldest o, cutoff
          WHERE n.id = o.id AND o.user_id IS NOT NULL AND o.created_at < cutoff.at
         RETURNING n.id
       ), positions AS (
         SELECT x.* FROM (SELECT DISTINCT COALESCE(topic, '') AS stream, scope FROM oldest, cutoff
                           WHERE user_id IS NULL AND created_at < cutoff.at) s
         CROSS JOIN LATERAL (
           SELECT s.stream, s.scope, n.id, n.seq, n.created_at FROM inbox_notification n
            WHERE n.user_id IS NULL AND COALESCE(n.topic, '') = s.stream AND n.scope = s.scope
              AND n.seq IS NOT NULL
            ORDER BY n.seq LIMIT $2) x
       ), kept AS (
         SELECT p.stream, p.scope, min(p.seq) FILTER (WHERE p.created_at >= cutoff.at) AS first
           FROM positions p, cutoff GROUP BY p.stream, p.scope
       ), old_shared AS (
         DELETE FROM inbox_notification n USING positions p JOIN kept k USING (stream, scope)
          WHERE n.id = p.id AND (k.first IS NULL OR p.seq < k.first)
         RETURNING n.id
       ), expired_direct AS (
         DELETE FROM inbox_notification n
          WHERE n.id IN (SELECT id FROM inbox_notification
                          WHERE expires_at <= now() AND user_id IS NOT NULL ORDER BY expires_at LIMIT $2)
         RETURNING n.id
       ), expired_shared AS (
         UPDATE inbox_notification n SET title = NULL, body = NULL, data = NULL, url = NULL, actions = NULL, actor = NULL, tags = '{}'
          WHERE n.id IN (SELECT id FROM inbox_notification
                          WHERE expires_at <= now() AND user_id IS NULL
                            AND (title IS NOT NULL OR body IS NOT NULL OR data IS NOT NULL OR url IS NOT NULL
                                 OR actions IS NOT NULL OR actor IS NOT NULL OR tags <> '{}')
                          ORDER BY expires_at LIMIT $2)
         RETURNING n.id
       ), deliveries AS (
         -- The live deliveries' lines of the rows deleted (inbox_delivery has no foreign key): by primary key.
         DELETE FROM inbox_delivery d
          WHERE d.notification_id IN (SELECT id FROM old_direct UNION ALL SELECT id FROM old_shared UNION ALL SELECT id FROM expired_direct)
       )
       SELECT (SELECT count(*) FROM old_direct) + (SELECT count(*) FROM old_shared)
            + (SELECT count(*) FROM expired_direct) + (SELECT count(*) FROM expired_shared) AS n`;

/**
 * One batch of the channels' records older than $1 days: among the oldest $2 lines of the log
 * (by id, its primary key: roughly the order of `at`), those older; and up to $2 sends decided
 * that long ago, read from the partial index of decided sends by `updated_at`. Returns `n`, the
 * rows deleted. A pending or `sending` send is never deleted here (its notification's deletion
 * takes it). The sends' cutoff is written out, not joined from `cutoff`: so it bounds the walk of
 * the partial index, which stops at the first younger send. Joined, it was a filter on each entry,
 * and a batch with fewer than $2 old sends (every run's last) read the whole index: every decided
 * send kept (920 ms at 3M sends against 2.4 ms; docs/performance.md).
 */
export const PRUNE_CHANNELS_SQL = `WITH cutoff AS (SELECT now() - $1::int * interval '1 day' AS at),
       log AS (
         DELETE FROM inbox_channel_log l USING (SELECT id FROM inbox_channel_log ORDER BY id LIMIT $2) o, cutoff
          WHERE l.id = o.id AND l.at < cutoff.at
         RETURNING 1
       ), sends AS (
         DELETE FROM inbox_channel_send s
          USING (SELECT notification_id, user_id, channel FROM inbox_channel_send
                  WHERE status IN ('sent', 'skipped', 'failed', 'cancelled') AND updated_at < now() - $1::int * interval '1 day'
                  ORDER BY updated_at LIMIT $2) o
          WHERE (s.notification_id, s.user_id, s.channel) = (o.notification_id, o.user_id, o.channel)
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM log) + (SELECT count(*) FROM sends) AS n`;

/** What the retention job deletes: old and expired notifications, the channels' old records (see Retention). */
@Injectable()
export class RetentionRepository {
  constructor(private readonly runner: StatementRunner) {}

  /** One batch of the retention job (see PRUNE_SQL, Retention), inside its transaction. Returns the rows deleted or emptied. */
  async pruneBatch(tx: EntityManager, days: number | null, batchSize: number): Promise<number> {
    const [{ n }] = await this.runner.query<{ n: string }>(PRUNE_SQL, [days, batchSize], { tx });
    return Number(n);
  }

  /** One batch of the channels' old records (see PRUNE_CHANNELS_SQL), inside its transaction. Returns the rows deleted. */
  async pruneChannelBatch(tx: EntityManager, days: number, batchSize: number): Promise<number> {
    const [{ n }] = await this.runner.query<{ n: string }>(PRUNE_CHANNELS_SQL, [days, batchSize], { tx });
    return Number(n);
  }
}
