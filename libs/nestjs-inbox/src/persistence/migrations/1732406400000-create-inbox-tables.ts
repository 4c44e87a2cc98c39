import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The notification store. One row per direct notification (per recipient), one row per
 * broadcast or topic publication whatever the audience; per-user read state of shared rows
 * lives in `inbox_receipt`.
 *
 * A subscriber sees a topic's publications from the subscription on: those that started after it
 * (`created_at`), and those whose transactions were still open when it was made (`tx_horizon`),
 * since those may commit after the subscriber's sockets joined the topic room.
 *
 * `tx_id` and `tx_horizon` make the catch-up exact when transactions commit out of id order:
 * `tx_horizon` is the oldest transaction still running when the row was written, so every row
 * that can commit after it with a smaller id has `tx_id >= tx_horizon` (see NotificationRepository.horizon).
 */
export class CreateInboxTables1732406400000 implements MigrationInterface {
  name = 'CreateInboxTables1732406400000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      CREATE TABLE inbox_notification (
        id          bigserial PRIMARY KEY,
        user_id     varchar(255),
        topic       varchar(255),
        type        varchar(100) NOT NULL,
        title       text,
        body        text,
        data        jsonb,
        dedupe_key  varchar(255),
        expires_at  timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        read_at     timestamptz,
        tx_id       bigint NOT NULL,
        tx_horizon  bigint NOT NULL,
        CONSTRAINT inbox_notification_audience CHECK (user_id IS NULL OR topic IS NULL)
      )`);
    // A user's inbox, newest first; catch-up by id.
    await db.query(`CREATE INDEX inbox_notification_user_idx ON inbox_notification (user_id, id) WHERE user_id IS NOT NULL`);
    // Unread count of direct notifications.
    await db.query(
      `CREATE INDEX inbox_notification_unread_idx ON inbox_notification (user_id) WHERE user_id IS NOT NULL AND read_at IS NULL`,
    );
    // Broadcasts and topic publications (few rows, shared by everyone).
    await db.query(`CREATE INDEX inbox_notification_shared_idx ON inbox_notification (topic, id) WHERE user_id IS NULL`);
    // A repeated dedupe key for the same audience stores nothing new.
    await db.query(`
      CREATE UNIQUE INDEX inbox_notification_dedupe_idx
        ON inbox_notification ((COALESCE(user_id, '')), (COALESCE(topic, '')), dedupe_key)
        WHERE dedupe_key IS NOT NULL`);
    await db.query(`
      CREATE TABLE inbox_receipt (
        user_id          varchar(255) NOT NULL,
        notification_id  bigint NOT NULL REFERENCES inbox_notification (id) ON DELETE CASCADE,
        read_at          timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, notification_id)
      )`);
    await db.query(`CREATE INDEX inbox_receipt_notification_idx ON inbox_receipt (notification_id)`);
    await db.query(`
      CREATE TABLE inbox_subscription (
        user_id     varchar(255) NOT NULL,
        topic       varchar(255) NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        tx_horizon  bigint NOT NULL DEFAULT pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
        PRIMARY KEY (user_id, topic)
      )`);
    await db.query(`CREATE INDEX inbox_subscription_topic_idx ON inbox_subscription (topic)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE inbox_subscription`);
    await db.query(`DROP TABLE inbox_receipt`);
    await db.query(`DROP TABLE inbox_notification`);
  }
}
