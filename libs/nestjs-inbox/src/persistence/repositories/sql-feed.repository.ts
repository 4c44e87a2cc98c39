import { Injectable } from '@nestjs/common';
import type { ChannelChoices } from '../../channels/channel-planner';
import type { NotificationRow } from '../notification-row';
import { COLUMNS } from '../sql/row-state.sql';
import { StatementRunner } from '../statement-runner';

/** The transactions a snapshot did not see: those at or above `xmax`, and those in `xip` (running then). */
export interface SqlSnapshot {
  xmax: string;
  xip: string[];
}

/** Rows of the SQL functions one read of SqlProducerListener delivers at most. */
const SQL_BATCH = 1000;

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
      `SELECT pg_snapshot_xmax(s.snap)::text AS xmax, ARRAY(SELECT pg_snapshot_xip(s.snap)::text) AS xip, n.*
         FROM (SELECT pg_current_snapshot() AS snap) s
         LEFT JOIN LATERAL (
           SELECT ${COLUMNS}, n.read_at, n.channels AS channel_choices FROM inbox_notification n
            WHERE n.via_sql AND (n.tx_id >= $1::bigint OR n.tx_id = ANY($2::bigint[])) AND n.id <> ALL($3::bigint[])
            ORDER BY n.id LIMIT ${SQL_BATCH}) n ON true`,
      [since.xmax, since.xip, exclude],
    );
    const found = result.filter((r) => r.id !== null);
    const rows = found.map(({ xmax: _xmax, xip: _xip, channel_choices: _channels, ...row }) => row);
    const channels = found.map((r) => r.channel_choices);
    return { rows, channels, next: { xmax: result[0].xmax, xip: result[0].xip }, complete: rows.length < SQL_BATCH };
  }
}
