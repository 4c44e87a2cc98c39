import { Injectable } from '@nestjs/common';
import type { ChannelChoices } from '../../channels/channel-planner';
import type { NotificationRow } from '../notification-row';
import { SQL_BATCH, SQL_COMMITTED_SINCE } from '../sql/sql-feed.sql';
import { StatementRunner } from '../statement-runner';

/** The transactions a snapshot did not see: those at or above `xmax`, and those in `xip` (running then). */
export interface SqlSnapshot {
  xmax: string;
  xip: string[];
}

/** The rows the SQL functions store (`via_sql`), read as they commit, for SqlProducerListener. */
@Injectable()
export class SqlFeedRepository {
  constructor(private readonly runner: StatementRunner) {}

  /**
   * Where a reader of the SQL functions' rows starts: the transactions the current snapshot does
   * not see (still running, or not begun), whose rows the next `sqlCommittedSince` looks at.
   */
  async sqlSnapshot(): Promise<SqlSnapshot> {
    const [row] = await this.runner.query<SqlSnapshot>(
      `SELECT pg_snapshot_xmax(s.snap)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s.snap)::text) AS xip
         FROM (SELECT pg_current_snapshot() AS snap) s`,
    );
    return { xmax: row.xmax, xip: row.xip };
  }

  /**
   * Rows stored by the SQL functions (`via_sql`) that committed since `since` was taken: those
   * of transactions it did not see (at or above its xmax, or running then) that are visible now,
   * less `exclude`, oldest first, at most SQL_BATCH, with each row's `channels` (the
   * notification's own choice, null for none); and this read's own snapshot, where the next
   * read starts once this one was `complete`. It reads the new rows only, whatever the age of
   * the oldest transaction still running on the server.
   */
  async sqlCommittedSince(
    since: SqlSnapshot,
    exclude: string[],
  ): Promise<{ rows: NotificationRow[]; channels: (ChannelChoices | null)[]; next: SqlSnapshot; complete: boolean }> {
    const result = await this.runner.query<NotificationRow & SqlSnapshot & { channel_choices: ChannelChoices | null }>(
      SQL_COMMITTED_SINCE,
      [since.xmax, since.xip, exclude],
    );
    const found = result.filter((r) => r.id !== null);
    const rows = found.map(({ xmax: _xmax, xip: _xip, channel_choices: _channels, ...row }) => row);
    const channels = found.map((r) => r.channel_choices);
    return { rows, channels, next: { xmax: result[0].xmax, xip: result[0].xip }, complete: rows.length < SQL_BATCH };
  }
}
