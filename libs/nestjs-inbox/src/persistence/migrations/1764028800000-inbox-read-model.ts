import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The read model that keeps every per-user operation independent of the table's size
 * (docs/scaling.md). On top of CreateInboxTables, with the data it holds:
 *
 * - **Streams.** A user reads from their own direct rows, the broadcast stream, and each topic
 *   they subscribe to. Each shared row gets `seq`, its position in its stream in *commit order*
 *   (`inbox_stream` holds each stream's last one). A deferred trigger assigns it at COMMIT, so
 *   the stream's counter row is locked only for the last instant of a transaction, and the
 *   committed rows of a stream are exactly 1..`inbox_stream.seq`: "how many are newer than my
 *   watermark" is a subtraction.
 * - **Watermarks.** Mark-all-read writes one `inbox_user_state` row and the user's
 *   subscriptions, never a row per notification: shared rows up to the stream's watermark are
 *   read; direct rows of transactions older than `direct_read_xmin` are read (every such
 *   transaction had ended when the mark was made, so that is exactly what the user could see).
 *   Out-of-order reads of shared rows are receipts, which now carry their row's stream and seq
 *   so a count subtracts only those above the watermark.
 * - **Subscriptions** see a topic's rows from `from_seq` on: those committed after the
 *   subscription (in flight then included), which replaces the created_at/tx_horizon rule.
 * - **Indexes** for one index range per stream: a page, a type, unread only, the rows a
 *   catch-up may lack.
 */
export class InboxReadModel1764028800000 implements MigrationInterface {
  name = 'InboxReadModel1764028800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE inbox_notification ADD COLUMN seq bigint`);
    // A shared row whose position is not in id order: one committed after a row of its stream
    // with a greater id (a transaction that stayed open). Pages walk a stream by id from the row
    // at the user's watermark and add these few.
    await db.query(`ALTER TABLE inbox_notification ADD COLUMN late boolean NOT NULL DEFAULT false`);
    await db.query(`
      CREATE TABLE inbox_stream (
        stream  varchar(255) PRIMARY KEY,
        seq     bigint NOT NULL DEFAULT 0
      )`);
    await db.query(`
      CREATE TABLE inbox_user_state (
        user_id             varchar(255) PRIMARY KEY,
        read_all_at         timestamptz,
        direct_read_xmin    bigint NOT NULL DEFAULT 0,
        broadcast_read_seq  bigint NOT NULL DEFAULT 0
      )`);
    await db.query(`ALTER TABLE inbox_subscription ADD COLUMN from_seq bigint NOT NULL DEFAULT 0`);
    await db.query(`ALTER TABLE inbox_subscription ADD COLUMN read_seq bigint NOT NULL DEFAULT 0`);
    await db.query(`ALTER TABLE inbox_receipt ADD COLUMN stream varchar(255)`);
    await db.query(`ALTER TABLE inbox_receipt ADD COLUMN seq bigint`);

    // Existing shared rows: their order by id is the best commit order there is.
    await db.query(`
      UPDATE inbox_notification n SET seq = o.seq
        FROM (SELECT id, row_number() OVER (PARTITION BY COALESCE(topic, '') ORDER BY id) AS seq
                FROM inbox_notification WHERE user_id IS NULL) o
       WHERE n.id = o.id`);
    await db.query(`
      INSERT INTO inbox_stream (stream, seq)
      SELECT COALESCE(topic, ''), max(seq) FROM inbox_notification WHERE user_id IS NULL GROUP BY 1`);
    // A subscription saw what the old rule let it see: rows begun after it, or in flight then.
    // from_seq is the last row it did not see before the first one it did (or the stream's end).
    await db.query(`
      UPDATE inbox_subscription s
         SET from_seq = COALESCE(
               (SELECT min(n.seq) - 1 FROM inbox_notification n
                 WHERE n.user_id IS NULL AND n.topic = s.topic
                   AND (n.created_at >= s.created_at OR n.tx_id >= s.tx_horizon)),
               (SELECT st.seq FROM inbox_stream st WHERE st.stream = s.topic), 0)`);
    await db.query(`UPDATE inbox_subscription SET read_seq = from_seq`);
    await db.query(`
      UPDATE inbox_receipt r SET stream = COALESCE(n.topic, ''), seq = n.seq
        FROM inbox_notification n WHERE n.id = r.notification_id`);
    await db.query(`ALTER TABLE inbox_receipt ALTER COLUMN stream SET NOT NULL`);
    await db.query(`ALTER TABLE inbox_receipt ALTER COLUMN seq SET NOT NULL`);

    await db.query(`
      CREATE FUNCTION inbox_assign_seq() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        next_seq bigint;
      BEGIN
        -- Deleted again in its own transaction: no position, so the stream stays gapless.
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
    // At COMMIT (deferred), once per shared row: the counter's row lock is held from here to the
    // end of the commit only, and positions follow commit order.
    await db.query(`
      CREATE CONSTRAINT TRIGGER inbox_notification_seq
        AFTER INSERT ON inbox_notification DEFERRABLE INITIALLY DEFERRED
        FOR EACH ROW WHEN (NEW.user_id IS NULL) EXECUTE FUNCTION inbox_assign_seq()`);

    // Direct rows: a page (and the catch-up's look back) reads the index only.
    await db.query(`DROP INDEX inbox_notification_user_idx`);
    await db.query(`
      CREATE INDEX inbox_notification_user_idx ON inbox_notification (user_id, id)
        INCLUDE (tx_id, created_at) WHERE user_id IS NOT NULL`);
    await db.query(`CREATE INDEX inbox_notification_user_type_idx ON inbox_notification (user_id, type, id) WHERE user_id IS NOT NULL`);
    // Unread direct rows by transaction: above the user's direct_read_xmin they are the unread ones.
    await db.query(`DROP INDEX inbox_notification_unread_idx`);
    await db.query(`
      CREATE INDEX inbox_notification_unread_idx ON inbox_notification (user_id, tx_id)
        INCLUDE (id, expires_at) WHERE user_id IS NOT NULL AND read_at IS NULL`);
    // Shared rows, per stream ('' for broadcasts).
    await db.query(`DROP INDEX inbox_notification_shared_idx`);
    await db.query(`
      CREATE INDEX inbox_notification_shared_idx ON inbox_notification ((COALESCE(topic, '')), id)
        INCLUDE (tx_id, created_at, seq) WHERE user_id IS NULL`);
    await db.query(`
      CREATE INDEX inbox_notification_shared_type_idx ON inbox_notification ((COALESCE(topic, '')), type, id)
        WHERE user_id IS NULL`);
    await db.query(`
      CREATE INDEX inbox_notification_shared_seq_idx ON inbox_notification ((COALESCE(topic, '')), seq)
        INCLUDE (id) WHERE user_id IS NULL`);
    // Shared rows that can expire: a count subtracts the expired ones above the watermark, and
    // must not read every position above it to find them.
    await db.query(`
      CREATE INDEX inbox_notification_shared_expiring_idx ON inbox_notification ((COALESCE(topic, '')), seq)
        INCLUDE (id, expires_at) WHERE user_id IS NULL AND expires_at IS NOT NULL`);
    await db.query(`
      CREATE INDEX inbox_notification_late_idx ON inbox_notification ((COALESCE(topic, '')), seq)
        WHERE user_id IS NULL AND late`);
    // Retention's scans: expired rows, oldest rows.
    await db.query(`CREATE INDEX inbox_notification_expires_idx ON inbox_notification (expires_at) WHERE expires_at IS NOT NULL`);
    await db.query(`CREATE INDEX inbox_receipt_stream_idx ON inbox_receipt (user_id, stream, seq)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX inbox_receipt_stream_idx`);
    await db.query(`DROP INDEX inbox_notification_expires_idx`);
    await db.query(`DROP INDEX inbox_notification_late_idx`);
    await db.query(`DROP INDEX inbox_notification_shared_expiring_idx`);
    await db.query(`DROP INDEX inbox_notification_shared_seq_idx`);
    await db.query(`DROP INDEX inbox_notification_shared_type_idx`);
    await db.query(`DROP INDEX inbox_notification_shared_idx`);
    await db.query(`CREATE INDEX inbox_notification_shared_idx ON inbox_notification (topic, id) WHERE user_id IS NULL`);
    await db.query(`DROP INDEX inbox_notification_unread_idx`);
    await db.query(
      `CREATE INDEX inbox_notification_unread_idx ON inbox_notification (user_id) WHERE user_id IS NOT NULL AND read_at IS NULL`,
    );
    await db.query(`DROP INDEX inbox_notification_user_type_idx`);
    await db.query(`DROP INDEX inbox_notification_user_idx`);
    await db.query(`CREATE INDEX inbox_notification_user_idx ON inbox_notification (user_id, id) WHERE user_id IS NOT NULL`);
    await db.query(`DROP TRIGGER inbox_notification_seq ON inbox_notification`);
    await db.query(`DROP FUNCTION inbox_assign_seq()`);
    // What the watermarks said becomes receipts again, so nothing read turns unread.
    await db.query(`
      UPDATE inbox_notification n SET read_at = s.read_all_at
        FROM inbox_user_state s
       WHERE n.user_id = s.user_id AND n.read_at IS NULL AND n.tx_id < s.direct_read_xmin`);
    await db.query(`
      INSERT INTO inbox_receipt (user_id, notification_id, read_at, stream, seq)
      SELECT w.user_id, n.id, w.read_all_at, '', n.seq
        FROM inbox_user_state w JOIN inbox_notification n
          ON n.user_id IS NULL AND n.topic IS NULL AND n.seq <= w.broadcast_read_seq
      UNION ALL
      SELECT s.user_id, n.id, w.read_all_at, s.topic, n.seq
        FROM inbox_subscription s JOIN inbox_user_state w ON w.user_id = s.user_id
        JOIN inbox_notification n ON n.user_id IS NULL AND n.topic = s.topic
         AND n.seq > s.from_seq AND n.seq <= s.read_seq
      ON CONFLICT DO NOTHING`);
    await db.query(`ALTER TABLE inbox_receipt DROP COLUMN seq`);
    await db.query(`ALTER TABLE inbox_receipt DROP COLUMN stream`);
    await db.query(`ALTER TABLE inbox_subscription DROP COLUMN read_seq`);
    await db.query(`ALTER TABLE inbox_subscription DROP COLUMN from_seq`);
    await db.query(`DROP TABLE inbox_user_state`);
    await db.query(`DROP TABLE inbox_stream`);
    await db.query(`ALTER TABLE inbox_notification DROP COLUMN late`);
    await db.query(`ALTER TABLE inbox_notification DROP COLUMN seq`);
  }
}
