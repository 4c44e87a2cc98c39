import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';

/**
 * As InboxSqlPrivileges pins it: nothing a caller plants in a schema runs inside the triggers.
 * Like its triggers, they run as their owner (SECURITY DEFINER), so a role that may mark rows
 * needs no privilege on the sends, and EXECUTE is not granted to PUBLIC.
 */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/**
 * Cancels a user's pending sends of one notification, in the transaction of the change that
 * saw, read or deleted it (`id`: the notification's id column in the changed row): `until
 * 'seen'` ones on any of the three, `until 'read'` ones on reading or deleting. Each
 * cancellation is logged. Costs one probe of inbox_channel_send's primary key per changed row.
 */
const cancelFunction = (s: string, name: string, id: string) => `
  CREATE FUNCTION ${s}.${name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
  BEGIN
    WITH cancelled AS (
      UPDATE ${s}.inbox_channel_send c SET status = 'cancelled', updated_at = now()
       WHERE c.notification_id = NEW.${id} AND c.user_id = NEW.user_id AND c.status = 'pending'
         AND (NEW.read_at IS NOT NULL OR NEW.deleted_at IS NOT NULL OR c.until = 'seen')
      RETURNING c.user_id, c.scope, c.channel, c.notification_id, c.attempts
    )
    INSERT INTO ${s}.inbox_channel_log (user_id, scope, channel, notification_ids, outcome, reason, attempt)
    SELECT user_id, scope, channel, ARRAY[notification_id], 'cancelled',
           CASE WHEN NEW.deleted_at IS NOT NULL THEN 'deleted' WHEN NEW.read_at IS NOT NULL THEN 'read' ELSE 'seen' END, attempts
      FROM cancelled;
    RETURN NULL;
  END $$`;

/** A row that became seen, read or deleted in this change (an UPDATE's OLD to NEW). */
const BECAME = `(OLD.seen_at IS NULL AND NEW.seen_at IS NOT NULL) OR (OLD.read_at IS NULL AND NEW.read_at IS NOT NULL)
  OR (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)`;

/**
 * Channels (docs/channels.md): a notification still unseen after a delay goes out by e-mail or
 * Web Push.
 *
 * - `inbox_channel_send`: a send per (notification, user, channel), due at `due_at`, in the
 *   inbox (user, `scope`: the notification's, '' unscoped) whose state and preferences decide
 *   it. `status`: pending, sending (claimed, being handed to the sender), sent, skipped,
 *   failed, cancelled. Claimed by any instance with FOR UPDATE SKIP LOCKED on the partial
 *   index of the pending ones.
 * - `inbox_channel_log`: every outcome (sent, skipped, deferred, failed, retry, cancelled), per user.
 * - `inbox_push_subscription`: a browser's Web Push subscription, per user and endpoint (device).
 * - `inbox_user_state` gains the inbox's channel preferences and quiet hours.
 * - Triggers on the direct rows and the receipts cancel pending sends in the transaction of the
 *   mark that sees or reads them. Mark-all moves watermarks and touches no row: the send's
 *   claim checks the state again.
 */
export class InboxChannels1764720000000 implements MigrationInterface {
  name = 'InboxChannels1764720000000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`
      CREATE TABLE ${s}.inbox_channel_send (
        notification_id bigint NOT NULL REFERENCES ${s}.inbox_notification (id) ON DELETE CASCADE,
        user_id varchar(255) NOT NULL,
        channel varchar(20) NOT NULL,
        scope varchar(200) NOT NULL DEFAULT '',
        until varchar(4) NOT NULL CHECK (until IN ('seen', 'read')),
        due_at timestamptz NOT NULL,
        status varchar(10) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'sending', 'sent', 'skipped', 'failed', 'cancelled')),
        attempts integer NOT NULL DEFAULT 0,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (notification_id, user_id, channel)
      )`);
    await db.query(`CREATE INDEX inbox_channel_send_due_idx ON ${s}.inbox_channel_send (due_at) WHERE status = 'pending'`);
    await db.query(
      `CREATE INDEX inbox_channel_send_inbox_idx ON ${s}.inbox_channel_send (user_id, scope, channel, due_at) WHERE status = 'pending'`,
    );
    await db.query(`CREATE INDEX inbox_channel_send_sending_idx ON ${s}.inbox_channel_send (updated_at) WHERE status = 'sending'`);
    await db.query(`
      CREATE TABLE ${s}.inbox_channel_log (
        id bigserial PRIMARY KEY,
        user_id varchar(255) NOT NULL,
        scope varchar(200) NOT NULL DEFAULT '',
        channel varchar(20) NOT NULL,
        notification_ids bigint[] NOT NULL,
        outcome varchar(10) NOT NULL CHECK (outcome IN ('sent', 'skipped', 'deferred', 'failed', 'retry', 'cancelled')),
        reason text,
        attempt integer NOT NULL DEFAULT 0,
        message_id text,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await db.query(`CREATE INDEX inbox_channel_log_user_idx ON ${s}.inbox_channel_log (user_id, id)`);
    await db.query(`
      CREATE TABLE ${s}.inbox_push_subscription (
        user_id varchar(255) NOT NULL,
        endpoint varchar(2048) NOT NULL,
        p256dh varchar(200) NOT NULL,
        auth varchar(100) NOT NULL,
        expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, endpoint)
      )`);
    // A publication's audience in user order, a batch at a time (ChannelPlanner): without the
    // user in the key, each batch would read and sort every subscriber of the topic.
    await db.query(`CREATE INDEX inbox_subscription_audience_idx ON ${s}.inbox_subscription (topic, scope, user_id)`);
    await db.query(`ALTER TABLE ${s}.inbox_user_state ADD COLUMN channel_preferences jsonb, ADD COLUMN quiet_hours jsonb`);
    await db.query(cancelFunction(s, 'inbox_cancel_direct_sends', 'id'));
    await db.query(cancelFunction(s, 'inbox_cancel_shared_sends', 'notification_id'));
    await db.query(`REVOKE EXECUTE ON FUNCTION ${s}.inbox_cancel_direct_sends(), ${s}.inbox_cancel_shared_sends() FROM PUBLIC`);
    await db.query(`
      CREATE TRIGGER inbox_cancel_sends AFTER UPDATE OF seen_at, read_at, deleted_at ON ${s}.inbox_notification
        FOR EACH ROW WHEN (NEW.user_id IS NOT NULL AND (${BECAME}))
        EXECUTE FUNCTION ${s}.inbox_cancel_direct_sends()`);
    await db.query(`
      CREATE TRIGGER inbox_cancel_sends_new AFTER INSERT ON ${s}.inbox_receipt
        FOR EACH ROW WHEN (NEW.seen_at IS NOT NULL OR NEW.read_at IS NOT NULL OR NEW.deleted_at IS NOT NULL)
        EXECUTE FUNCTION ${s}.inbox_cancel_shared_sends()`);
    await db.query(`
      CREATE TRIGGER inbox_cancel_sends AFTER UPDATE OF seen_at, read_at, deleted_at ON ${s}.inbox_receipt
        FOR EACH ROW WHEN (${BECAME})
        EXECUTE FUNCTION ${s}.inbox_cancel_shared_sends()`);
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`DROP TRIGGER inbox_cancel_sends ON ${s}.inbox_receipt`);
    await db.query(`DROP TRIGGER inbox_cancel_sends_new ON ${s}.inbox_receipt`);
    await db.query(`DROP TRIGGER inbox_cancel_sends ON ${s}.inbox_notification`);
    await db.query(`DROP FUNCTION ${s}.inbox_cancel_shared_sends(), ${s}.inbox_cancel_direct_sends()`);
    await db.query(`DROP INDEX ${s}.inbox_subscription_audience_idx`);
    await db.query(`ALTER TABLE ${s}.inbox_user_state DROP COLUMN channel_preferences, DROP COLUMN quiet_hours`);
    await db.query(`DROP TABLE ${s}.inbox_push_subscription, ${s}.inbox_channel_log, ${s}.inbox_channel_send`);
  }
}
