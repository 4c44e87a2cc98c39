/**
 * The SQL of the channel engine (docs/channels.md): planning sends, claiming due ones, recording
 * what became of them. Builders and texts only: ChannelSendRepository runs them.
 */

/** Sends of direct rows, one per (notification, user, channel): arrays of equal length. A repeated plan adds nothing. */
export const PLAN_DIRECT_SQL = `
  INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at)
  SELECT p.id, p.user_id, p.channel, p.scope, p.until, now() + p.after_ms * interval '1 millisecond'
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[])
         AS p(id, user_id, channel, scope, until, after_ms)
  ON CONFLICT DO NOTHING`;

/**
 * One batch of the sends of a shared row (a broadcast, `topic` null, or a publication of
 * `topic`) to its audience, in user id order after `$7`: the users subscribed to the topic in
 * its scope, or for a broadcast the users the inbox knows (a row in inbox_user_state) in its
 * scope (unscoped: in any). Returns the batch's last user and size: the next batch starts there.
 */
export const PLAN_SHARED_SQL = `
  WITH audience AS (
    SELECT DISTINCT user_id FROM (
      SELECT user_id FROM inbox_subscription
       WHERE $2::text IS NOT NULL AND topic = $2 AND scope = $3 AND user_id > $7
       ORDER BY user_id LIMIT $8
    ) t
    UNION ALL
    SELECT user_id FROM (
      SELECT DISTINCT user_id FROM inbox_user_state
       WHERE $2::text IS NULL AND ($3 = '' OR scope = $3) AND user_id > $7
       ORDER BY user_id LIMIT $8
    ) b
  ), planned AS (
    INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at)
    SELECT $1, a.user_id, $4, $3, $5, now() + $6::bigint * interval '1 millisecond' FROM audience a
    ON CONFLICT DO NOTHING
  )
  SELECT max(user_id) AS last, count(*)::int AS n FROM audience`;

/**
 * Due sends of `$1` (channel names), oldest first, at most `$2`, locked for this transaction;
 * another instance skips them. `$3`: per channel, how much longer its first due send waits (a
 * digest window, 0 without). The rows stay pending until the claim decides.
 */
export const CLAIM_SQL = `
  SELECT c.notification_id::text AS notification_id, c.user_id, c.channel, c.scope, c.until, c.attempts
    FROM inbox_channel_send c
    JOIN unnest($1::text[], $3::bigint[]) AS w(channel, wait_ms) ON w.channel = c.channel
   -- The constant bound keeps the walk of the pending index to what is due: sends planned for
   -- later (a 10-minute delay) are never read by a poll.
   WHERE c.status = 'pending' AND c.due_at <= now() AND c.due_at <= now() - w.wait_ms * interval '1 millisecond'
   ORDER BY c.due_at
   LIMIT $2
   FOR UPDATE OF c SKIP LOCKED`;

/** The other sends of one inbox and channel due by now (a digest's), locked for this transaction. */
export const CLAIM_INBOX_SQL = `
  SELECT c.notification_id::text AS notification_id, c.user_id, c.channel, c.scope, c.until, c.attempts
    FROM inbox_channel_send c
   WHERE c.status = 'pending' AND c.user_id = $1 AND c.scope = $2 AND c.channel = $3 AND c.due_at <= now()
     AND c.notification_id <> ALL($4::bigint[])
   ORDER BY c.due_at
   LIMIT $5
   FOR UPDATE SKIP LOCKED`;

/**
 * Moves sends of one user and channel (`$1`, `$2`, ids `$3`) to `$4` (status), `$5`: the next
 * due time for a pending one (a retry, quiet hours), else null; `$6`: count an attempt.
 */
export const MOVE_SQL = `
  UPDATE inbox_channel_send
     SET status = $4, due_at = COALESCE($5::timestamptz, due_at), attempts = attempts + $6::int, updated_at = now()
   WHERE user_id = $1 AND channel = $2 AND notification_id = ANY($3::bigint[])`;

/** One outcome in the log. */
export const LOG_SQL = `
  INSERT INTO inbox_channel_log (user_id, scope, channel, notification_ids, outcome, reason, attempt, message_id)
  VALUES ($1, $2, $3, $4::bigint[], $5, $6, $7, $8)`;

/**
 * Sends left `sending` longer than `$1` ms: their process died between the claim and the send's
 * end. Never sent again (at most once): failed, and logged so.
 */
export const ABANDONED_SQL = `
  WITH gone AS (
    UPDATE inbox_channel_send c SET status = 'failed', updated_at = now()
      FROM (SELECT notification_id, user_id, channel FROM inbox_channel_send
             WHERE status = 'sending' AND updated_at < now() - $1::bigint * interval '1 millisecond'
             LIMIT 1000 FOR UPDATE SKIP LOCKED) o
     WHERE (c.notification_id, c.user_id, c.channel) = (o.notification_id, o.user_id, o.channel)
    RETURNING c.user_id, c.scope, c.channel, c.notification_id, c.attempts
  )
  INSERT INTO inbox_channel_log (user_id, scope, channel, notification_ids, outcome, reason, attempt)
  SELECT user_id, scope, channel, ARRAY[notification_id], 'failed', 'interrupted: the process ended while sending', attempts FROM gone
  RETURNING channel`;

/** A page of a user's log, newest first, before id `$2` (null: from the newest), in scope `$3` (null: every scope). */
export const HISTORY_SQL = `
  SELECT id::text, scope, channel, notification_ids::text[] AS notification_ids, outcome, reason, attempt, message_id, at
    FROM inbox_channel_log
   WHERE user_id = $1 AND ($2::bigint IS NULL OR id < $2) AND ($3::text IS NULL OR scope = $3)
   ORDER BY user_id, id DESC
   LIMIT $4`;

/** Whether anything may be due: the claim's transaction is not begun for nothing. */
export const ANY_DUE_SQL = `SELECT EXISTS (SELECT 1 FROM inbox_channel_send WHERE status = 'pending' AND due_at <= now()) AS due`;
