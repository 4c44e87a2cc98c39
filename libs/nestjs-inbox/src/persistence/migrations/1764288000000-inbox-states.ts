import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Inbox states on the read model of InboxReadModel (docs/scaling.md, "Inbox states"): besides
 * read, a notification is seen, archived or deleted per user, and a user mutes types and topics.
 *
 * - **Per notification**: a direct row holds its own user's state (`seen_at`, `archived`,
 *   `deleted_at`, next to `read_at`); a shared row's state for a user is that user's receipt,
 *   which now records any of them (`read_at` may be null).
 * - **Watermarks**: "all seen / read / archived / deleted" moves watermarks, as mark-all-read
 *   does: a position per stream (`inbox_user_state` for broadcasts, `inbox_subscription` per
 *   topic) and, for direct rows, the oldest transaction running then (`*_xmin`: older ones are
 *   covered) with the id sequence's value then (`*_id`: every covered row has an id up to it,
 *   so a page of what is not covered is an index range above it).
 * - **Archived is reversible**: `archived` is null where the watermark decides, true or false
 *   where the user archived or unarchived that one notification since.
 * - **Snoozes**: `inbox_snooze` holds what a user snoozed until when; the notification is
 *   deleted for them meanwhile, and at that time a copy comes back as new (SnoozeWaker).
 * - **Tags**: `inbox_notification_tag` lists each tagged row under its owner (`u:<user>` for a
 *   direct row, `s:<stream>` for a shared one) and each tag, filled by a trigger: a view with
 *   tags walks the rows of one of its tags, newest first, instead of every row.
 * - **Type ordinals**: `type_seq`, a shared row's position among its stream's rows of its type
 *   (`inbox_stream_type` holds each one's last), so the unread count of a type, or without the
 *   muted types, is a subtraction too.
 */
export class InboxStates1764288000000 implements MigrationInterface {
  name = 'InboxStates1764288000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`
      ALTER TABLE inbox_notification
        ADD COLUMN seen_at timestamptz,
        ADD COLUMN archived boolean,
        ADD COLUMN deleted_at timestamptz,
        ADD COLUMN type_seq bigint`);
    await db.query(`
      ALTER TABLE inbox_receipt
        ALTER COLUMN read_at DROP NOT NULL,
        ALTER COLUMN read_at DROP DEFAULT,
        ADD COLUMN seen_at timestamptz,
        ADD COLUMN archived boolean,
        ADD COLUMN deleted_at timestamptz`);
    await db.query(`
      ALTER TABLE inbox_user_state
        ADD COLUMN seen_all_at          timestamptz,
        ADD COLUMN direct_seen_xmin     bigint NOT NULL DEFAULT 0,
        ADD COLUMN broadcast_seen_seq   bigint NOT NULL DEFAULT 0,
        ADD COLUMN direct_archived_xmin bigint NOT NULL DEFAULT 0,
        ADD COLUMN direct_archived_id   bigint NOT NULL DEFAULT 0,
        ADD COLUMN broadcast_archived_seq bigint NOT NULL DEFAULT 0,
        ADD COLUMN direct_deleted_xmin  bigint NOT NULL DEFAULT 0,
        ADD COLUMN direct_deleted_id    bigint NOT NULL DEFAULT 0,
        ADD COLUMN broadcast_deleted_seq bigint NOT NULL DEFAULT 0,
        ADD COLUMN muted_types  text[] NOT NULL DEFAULT '{}',
        ADD COLUMN muted_topics text[] NOT NULL DEFAULT '{}'`);
    await db.query(`
      ALTER TABLE inbox_subscription
        ADD COLUMN seen_seq     bigint NOT NULL DEFAULT 0,
        ADD COLUMN archived_seq bigint NOT NULL DEFAULT 0,
        ADD COLUMN deleted_seq  bigint NOT NULL DEFAULT 0`);
    await db.query(`
      CREATE TABLE inbox_stream_type (
        stream  varchar(255) NOT NULL,
        type    varchar(100) NOT NULL,
        seq     bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (stream, type)
      )`);

    await db.query(`
      CREATE TABLE inbox_snooze (
        user_id          varchar(255) NOT NULL,
        notification_id  bigint NOT NULL REFERENCES inbox_notification (id) ON DELETE CASCADE,
        until            timestamptz NOT NULL,
        PRIMARY KEY (user_id, notification_id)
      )`);
    await db.query(`CREATE INDEX inbox_snooze_until_idx ON inbox_snooze (until)`);
    await db.query(`CREATE INDEX inbox_snooze_notification_idx ON inbox_snooze (notification_id)`);

    await db.query(`
      CREATE TABLE inbox_notification_tag (
        owner            varchar(260) NOT NULL,
        tag              varchar(64) NOT NULL,
        notification_id  bigint NOT NULL REFERENCES inbox_notification (id) ON DELETE CASCADE,
        PRIMARY KEY (owner, tag, notification_id)
      )`);
    await db.query(`CREATE INDEX inbox_notification_tag_notification_idx ON inbox_notification_tag (notification_id)`);
    await db.query(`
      CREATE FUNCTION inbox_tag_rows() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO inbox_notification_tag (owner, tag, notification_id)
        SELECT CASE WHEN NEW.user_id IS NULL THEN 's:' || COALESCE(NEW.topic, '') ELSE 'u:' || NEW.user_id END, t, NEW.id
          FROM unnest(NEW.tags) t
        ON CONFLICT DO NOTHING;
        RETURN NULL;
      END $$`);
    await db.query(`
      CREATE TRIGGER inbox_notification_tags AFTER INSERT ON inbox_notification
        FOR EACH ROW WHEN (NEW.tags <> '{}') EXECUTE FUNCTION inbox_tag_rows()`);
    await db.query(`
      INSERT INTO inbox_notification_tag (owner, tag, notification_id)
      SELECT CASE WHEN n.user_id IS NULL THEN 's:' || COALESCE(n.topic, '') ELSE 'u:' || n.user_id END, t, n.id
        FROM inbox_notification n CROSS JOIN LATERAL unnest(n.tags) t
       WHERE n.tags <> '{}'
      ON CONFLICT DO NOTHING`);

    // Existing shared rows: their ordinals follow their positions.
    await db.query(`
      UPDATE inbox_notification n SET type_seq = o.type_seq
        FROM (SELECT id, row_number() OVER (PARTITION BY COALESCE(topic, ''), type ORDER BY seq) AS type_seq
                FROM inbox_notification WHERE user_id IS NULL AND seq IS NOT NULL) o
       WHERE n.id = o.id`);
    await db.query(`
      INSERT INTO inbox_stream_type (stream, type, seq)
      SELECT COALESCE(topic, ''), type, max(type_seq) FROM inbox_notification
       WHERE user_id IS NULL AND type_seq IS NOT NULL GROUP BY 1, 2`);

    await db.query(`
      CREATE OR REPLACE FUNCTION inbox_assign_seq() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        next_seq bigint;
        next_type_seq bigint;
      BEGIN
        -- Deleted again in its own transaction: no position, so the stream stays gapless.
        PERFORM 1 FROM inbox_notification WHERE id = NEW.id;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        INSERT INTO inbox_stream AS st (stream, seq) VALUES (COALESCE(NEW.topic, ''), 1)
        ON CONFLICT (stream) DO UPDATE SET seq = st.seq + 1
        RETURNING st.seq INTO next_seq;
        INSERT INTO inbox_stream_type AS st (stream, type, seq) VALUES (COALESCE(NEW.topic, ''), NEW.type, 1)
        ON CONFLICT (stream, type) DO UPDATE SET seq = st.seq + 1
        RETURNING st.seq INTO next_type_seq;
        UPDATE inbox_notification SET seq = next_seq, type_seq = next_type_seq, late = EXISTS (
                 SELECT 1 FROM inbox_notification o
                  WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                    AND o.id > NEW.id AND o.seq < next_seq)
         WHERE id = NEW.id;
        RETURN NULL;
      END $$`);

    // A type's rows of a stream by position: the ordinal just above a watermark is one lookup.
    await db.query(`
      CREATE INDEX inbox_notification_shared_type_seq_idx ON inbox_notification ((COALESCE(topic, '')), type, seq)
        INCLUDE (type_seq) WHERE user_id IS NULL`);
    // Direct rows a user archived or unarchived one by one: the archived view and the inbox
    // find them without walking the rows the watermark covers.
    await db.query(`
      CREATE INDEX inbox_notification_user_archived_idx ON inbox_notification (user_id, archived, id)
        WHERE user_id IS NOT NULL AND archived IS NOT NULL`);
    await db.query(`
      CREATE INDEX inbox_receipt_archived_idx ON inbox_receipt (user_id, archived, notification_id)
        WHERE archived IS NOT NULL`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX inbox_receipt_archived_idx`);
    await db.query(`DROP INDEX inbox_notification_user_archived_idx`);
    await db.query(`DROP INDEX inbox_notification_shared_type_seq_idx`);
    await db.query(`
      CREATE OR REPLACE FUNCTION inbox_assign_seq() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        next_seq bigint;
      BEGIN
        PERFORM 1 FROM inbox_notification WHERE id = NEW.id;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        INSERT INTO inbox_stream AS st (stream, seq) VALUES (COALESCE(NEW.topic, ''), 1)
        ON CONFLICT (stream) DO UPDATE SET seq = st.seq + 1
        RETURNING st.seq INTO next_seq;
        UPDATE inbox_notification SET seq = next_seq, late = EXISTS (
                 SELECT 1 FROM inbox_notification o
                  WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                    AND o.id > NEW.id AND o.seq < next_seq)
         WHERE id = NEW.id;
        RETURN NULL;
      END $$`);
    // The earlier schema has read and unread only: what a user deleted goes (direct rows) or
    // stays read (shared rows); seen and archived are dropped.
    await db.query(`
      DELETE FROM inbox_notification n USING inbox_user_state s
       WHERE n.user_id = s.user_id AND n.tx_id < s.direct_deleted_xmin`);
    await db.query(`DELETE FROM inbox_notification WHERE user_id IS NOT NULL AND deleted_at IS NOT NULL`);
    await db.query(
      `UPDATE inbox_receipt SET read_at = COALESCE(deleted_at, seen_at, now()) WHERE read_at IS NULL AND deleted_at IS NOT NULL`,
    );
    await db.query(`DELETE FROM inbox_receipt WHERE read_at IS NULL`);
    await db.query(`UPDATE inbox_user_state SET broadcast_read_seq = GREATEST(broadcast_read_seq, broadcast_deleted_seq)`);
    await db.query(`UPDATE inbox_subscription SET read_seq = GREATEST(read_seq, deleted_seq)`);
    await db.query(`DROP TRIGGER inbox_notification_tags ON inbox_notification`);
    await db.query(`DROP FUNCTION inbox_tag_rows()`);
    await db.query(`DROP TABLE inbox_notification_tag`);
    await db.query(`DROP TABLE inbox_snooze`);
    await db.query(`DROP TABLE inbox_stream_type`);
    await db.query(`ALTER TABLE inbox_subscription DROP COLUMN seen_seq, DROP COLUMN archived_seq, DROP COLUMN deleted_seq`);
    await db.query(`
      ALTER TABLE inbox_user_state
        DROP COLUMN seen_all_at, DROP COLUMN direct_seen_xmin, DROP COLUMN broadcast_seen_seq,
        DROP COLUMN direct_archived_xmin, DROP COLUMN direct_archived_id, DROP COLUMN broadcast_archived_seq,
        DROP COLUMN direct_deleted_xmin, DROP COLUMN direct_deleted_id, DROP COLUMN broadcast_deleted_seq,
        DROP COLUMN muted_types, DROP COLUMN muted_topics`);
    await db.query(`
      ALTER TABLE inbox_receipt
        DROP COLUMN seen_at, DROP COLUMN archived, DROP COLUMN deleted_at,
        ALTER COLUMN read_at SET DEFAULT now(), ALTER COLUMN read_at SET NOT NULL`);
    await db.query(`
      ALTER TABLE inbox_notification
        DROP COLUMN seen_at, DROP COLUMN archived, DROP COLUMN deleted_at, DROP COLUMN type_seq`);
  }
}
