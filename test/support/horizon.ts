import type { DataSource } from 'typeorm';

/**
 * Waits, with a deadline, until the server's snapshot horizon has passed every notification of
 * this database. Transaction ids are cluster-wide: an open transaction of another database on
 * the same server (another test run) holds the horizon back, and the library then treats the
 * rows above it as possibly in flight — it marks them one by one on a mark-all, and a row
 * written later records the held-back horizon, so a catch-up from it resends them. Both are
 * right for the product; a test that asserts the quiet-server path waits here first.
 */
export async function horizonPassed(dataSource: DataSource, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [{ passed }] = await dataSource.query(
      `SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint > (SELECT coalesce(max(tx_id), 0) FROM inbox_notification) AS passed`,
    );
    if (passed) return;
    if (Date.now() > deadline) throw new Error(`a transaction elsewhere on the server held the snapshot horizon back for ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
