import type { MigrationInterface, QueryRunner } from 'typeorm';
import { engagement, engagementQuery } from './1764547200000-inbox-engagement';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';

/**
 * The search_path as InboxSqlPrivileges pins it (see there), and no JIT: the rates' plans are
 * estimated costly enough to be compiled (330 functions for inbox_engagement), and compiling
 * took 9.3 s of a 12 s call over a 1-day window of 10M rows, more than running the plan.
 */
const PINNED = `SET search_path = pg_catalog, pg_temp SET jit = off`;

/**
 * Issue 26, the rest of "Engagement in SQL" (docs/observability.md):
 *
 * - `inbox_delivery`: per notification, how many inboxes it was written to live, one per inbox
 *   and instance (the `deliveryRecord` option: DeliveryRecord adds an instance's counts every
 *   `flushMs`, one statement per flush). No foreign key: a flush would lock each notification
 *   row it counts (FOR KEY SHARE); the retention job deletes a notification's line with it, by
 *   primary key.
 * - `inbox_engagement` gains `delivered_live` (a function's result type changes only by DROP and
 *   CREATE): the window's lines of `inbox_delivery`, a primary-key range like the window itself,
 *   grouped by their own copy of the type and kind (joining the notifications again cost 20 %
 *   more CPU over 30 days of 10M rows).
 * - `inbox_channel_engagement(since, until)`: per type and channel, the sends of the window's
 *   notifications by status and the average time from creation to the send, read from the
 *   sends' primary key (notification_id, …) over the window's id range: never a scan.
 *
 * Both are SECURITY INVOKER, read only, with a pinned search_path, and not executable by PUBLIC,
 * as InboxEngagement's: the host grants them to its reporting role. Both run without JIT (see PINNED).
 */
export class InboxDeliveryRecord1764979200000 implements MigrationInterface {
  name = 'InboxDeliveryRecord1764979200000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    // type and kind copied from the notification (never changed) when its line is made: the
    // rates group the window's lines without reading the notifications again.
    await db.query(`CREATE TABLE ${s}.inbox_delivery (
      notification_id bigint PRIMARY KEY,
      type varchar(100) NOT NULL,
      kind varchar(9) NOT NULL CHECK (kind IN ('direct', 'broadcast', 'topic')),
      live bigint NOT NULL CHECK (live > 0))`);
    await db.query(`DROP FUNCTION ${s}.inbox_engagement(timestamptz, timestamptz)`);
    await db.query(deliveredEngagement(s));
    await db.query(channelEngagement(s));
    await db.query(
      `REVOKE EXECUTE ON FUNCTION ${s}.inbox_engagement(timestamptz, timestamptz), ${s}.inbox_channel_engagement(timestamptz, timestamptz) FROM PUBLIC`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`DROP FUNCTION ${s}.inbox_channel_engagement(timestamptz, timestamptz)`);
    await db.query(`DROP FUNCTION ${s}.inbox_engagement(timestamptz, timestamptz)`);
    await db.query(engagement(s));
    await db.query(`REVOKE EXECUTE ON FUNCTION ${s}.inbox_engagement(timestamptz, timestamptz) FROM PUBLIC`);
    await db.query(`DROP TABLE ${s}.inbox_delivery`);
  }
}

/**
 * InboxEngagement's rates and `delivered_live`: per type and kind, the live deliveries recorded
 * for the window's rows (0 without the `deliveryRecord` option). A broadcast's are its own
 * line, one per inbox and instance it reached: never one row per user.
 */
export const deliveredEngagement = (s: string) => `
CREATE FUNCTION ${s}.inbox_engagement(since timestamptz, until timestamptz DEFAULT now())
  RETURNS TABLE (type varchar, kind text, stored bigint, audience bigint, delivered_live bigint, seen bigint, read bigint,
                 avg_seconds_to_read double precision)
  LANGUAGE sql STABLE ${PINNED} AS $$
WITH rates (type, kind, stored, audience, seen, read, avg_seconds_to_read) AS (${engagementQuery(s)}), live AS (
  SELECT d.type, d.kind, sum(d.live)::bigint AS delivered_live
    FROM ${s}.inbox_delivery d
   WHERE d.notification_id >= ${s}.inbox_first_id_at(since) AND d.notification_id < ${s}.inbox_first_id_at(until)
   GROUP BY 1, 2
)
SELECT r.type, r.kind, r.stored, r.audience, COALESCE(l.delivered_live, 0), r.seen, r.read, r.avg_seconds_to_read
  FROM rates r LEFT JOIN live l ON l.type = r.type AND l.kind = r.kind
 ORDER BY 1, 2
$$`;

/**
 * Per type and channel, the sends planned for the notifications created in [since, until): how
 * many, by status (`pending` counts `sending` too), and the average seconds from the
 * notification's creation to its sent send (the moment it was marked sent). A digest's e-mail
 * counts once per notification it carried. Sends the retention job deleted (`channelDays`) are
 * not counted.
 */
const channelEngagement = (s: string) => `
CREATE FUNCTION ${s}.inbox_channel_engagement(since timestamptz, until timestamptz DEFAULT now())
  RETURNS TABLE (type varchar, channel varchar, planned bigint, pending bigint, sent bigint, skipped bigint, failed bigint,
                 cancelled bigint, avg_seconds_to_send double precision)
  LANGUAGE sql STABLE ${PINNED} AS $$
WITH bounds AS (
  SELECT ${s}.inbox_first_id_at(since) AS lo, ${s}.inbox_first_id_at(until) AS hi
)
SELECT n.type, c.channel, count(*),
       count(*) FILTER (WHERE c.status IN ('pending', 'sending')),
       count(*) FILTER (WHERE c.status = 'sent'),
       count(*) FILTER (WHERE c.status = 'skipped'),
       count(*) FILTER (WHERE c.status = 'failed'),
       count(*) FILTER (WHERE c.status = 'cancelled'),
       (avg(GREATEST(0, extract(epoch FROM c.updated_at - n.created_at))) FILTER (WHERE c.status = 'sent'))::double precision
  FROM bounds b
  JOIN ${s}.inbox_notification n ON n.id >= b.lo AND n.id < b.hi
  JOIN ${s}.inbox_channel_send c ON c.notification_id = n.id AND c.notification_id >= b.lo AND c.notification_id < b.hi
 GROUP BY 1, 2
 ORDER BY 1, 2
$$`;
