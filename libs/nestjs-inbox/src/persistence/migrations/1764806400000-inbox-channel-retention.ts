import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';

/**
 * `retention.channelDays` (docs/channels.md): the decided sends (sent, skipped, failed,
 * cancelled) by the time they were decided, so that the retention job reads only the oldest of
 * them, a batch at a time, whatever the table holds. Pending and `sending` rows, the ones the
 * engine writes most, are not in it. The log needs none: its primary key gives its oldest lines.
 */
export class InboxChannelRetention1764806400000 implements MigrationInterface {
  name = 'InboxChannelRetention1764806400000';

  async up(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(
      `CREATE INDEX inbox_channel_send_decided_idx ON ${s}.inbox_channel_send (updated_at)
        WHERE status IN ('sent', 'skipped', 'failed', 'cancelled')`,
    );
  }

  async down(db: QueryRunner): Promise<void> {
    const s = await inboxSchema(db);
    await db.query(`DROP INDEX ${s}.inbox_channel_send_decided_idx`);
  }
}
