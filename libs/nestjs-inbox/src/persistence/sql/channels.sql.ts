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
 * One batch of the sends of a shared row (`$1`, scope `$3`; a broadcast, `topic` `$2` null, or
 * a publication of `$2`) to its audience, in user id order after `$7`, on each channel of `$4`
 * (with, at the same index, its `until` in `$5` and its delay in ms in `$6`): for a publication,
 * the users subscribed to the topic in its scope; for a broadcast, the users the inbox knows (a
 * row in inbox_user_state) in its scope (unscoped: in any). Returns the batch's last user and
 * size: the next batch starts there.
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
       WHERE $2::text IS NULL AND $3 = '' AND user_id > $7
       ORDER BY user_id LIMIT $8
    ) b
    UNION ALL
    -- A scope's users apart, from the (scope, user_id) index: one condition for both cases
    -- ($3 = '' OR scope = $3) walked the primary key, every scope's users (InboxAudienceExpiryIndexes).
    SELECT user_id FROM (
      SELECT user_id FROM inbox_user_state
       WHERE $2::text IS NULL AND $3 <> '' AND scope = $3 AND user_id > $7
       ORDER BY user_id LIMIT $8
    ) s
  ), planned AS (
    INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at)
    SELECT $1, a.user_id, c.channel, $3, c.until, now() + c.after_ms * interval '1 millisecond'
      FROM audience a CROSS JOIN unnest($4::text[], $5::text[], $6::bigint[]) AS c(channel, until, after_ms)
    ON CONFLICT DO NOTHING
  )
  SELECT max(user_id) AS last, count(*)::int AS n FROM audience`;

/**
 * One batch of a broadcast's sends (`$1`, scope `$2`) to users the host named (`$3`), on each
 * channel of `$4` (its `until` in `$5`, its delay in ms in `$6`). A user named twice, or
 * already planned, is planned once.
 */
export const PLAN_USERS_SQL = `
  INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at)
  SELECT $1, u.user_id, c.channel, $2, c.until, now() + c.after_ms * interval '1 millisecond'
    FROM unnest($3::text[]) AS u(user_id) CROSS JOIN unnest($4::text[], $5::text[], $6::bigint[]) AS c(channel, until, after_ms)
  ON CONFLICT DO NOTHING`;

/**
 * Due sends of `$1` (channel names: those sent one by one, not in digests), oldest first, at
 * most `$2`, locked for this transaction; another instance skips them. The rows stay pending
 * until the claim decides.
 */
export const CLAIM_SQL = `
  SELECT c.notification_id::text AS notification_id, c.user_id, c.channel, c.scope, c.until, c.attempts
    FROM inbox_channel_send c
   -- The constant bound keeps the walk of the pending index to what is due: sends planned for
   -- later (a 10-minute delay) are never read by a poll.
   WHERE c.status = 'pending' AND c.due_at <= now() AND c.channel = ANY($1::text[])
   ORDER BY c.due_at
   LIMIT $2
   FOR UPDATE OF c SKIP LOCKED`;

/** The class (first key) of the digests' advisory locks: any constant unlikely to collide with a host's. */
export const DIGEST_LOCK_CLASS = 0x1b0c6;

/**
 * Inboxes (user, scope) whose first pending send of channel `$1` is due past the digest window
 * `$2` (ms), earliest first, at most `$3`: each returned one is this transaction's, by a
 * transaction-level advisory lock per (user, scope, channel) taken here. Another instance's claim
 * skips an inbox whose lock is held, so one instance gathers the whole digest (DIGEST_SQL). The
 * candidates are read without locking a row, materialized in order, and locked one at a time
 * until `$3` are held: an instance passes over the inboxes another one holds.
 */
export const DIGEST_INBOXES_SQL = `
  WITH due AS MATERIALIZED (
    SELECT user_id, scope, min(due_at) AS first FROM (
      SELECT user_id, scope, due_at FROM inbox_channel_send
       WHERE status = 'pending' AND channel = $1 AND due_at <= now() AND due_at <= now() - $2::bigint * interval '1 millisecond'
       ORDER BY due_at LIMIT $3::int * 4
    ) d GROUP BY user_id, scope ORDER BY first
  )
  SELECT user_id, scope FROM due
   WHERE pg_try_advisory_xact_lock(${DIGEST_LOCK_CLASS}, hashtext(json_build_array(user_id, scope, $1::text)::text))
   LIMIT $3`;

/**
 * One digest: the pending sends of an inbox (`$1` user, `$2` scope) and channel `$3` due by now,
 * oldest first, at most `$5`, locked for this transaction; none unless the first is due past the
 * window `$4` (checked again under the inbox's advisory lock: an instance that committed the
 * digest just before left only sends due later). A send a mark holds (cancelling it) is skipped.
 */
export const DIGEST_SQL = `
  SELECT c.notification_id::text AS notification_id, c.user_id, c.channel, c.scope, c.until, c.attempts
    FROM inbox_channel_send c
   WHERE c.status = 'pending' AND c.user_id = $1 AND c.scope = $2 AND c.channel = $3 AND c.due_at <= now()
     AND EXISTS (SELECT 1 FROM inbox_channel_send f
                  WHERE f.status = 'pending' AND f.user_id = $1 AND f.scope = $2 AND f.channel = $3
                    AND f.due_at <= now() - $4::bigint * interval '1 millisecond')
   ORDER BY c.due_at
   LIMIT $5
   FOR UPDATE OF c SKIP LOCKED`;

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
