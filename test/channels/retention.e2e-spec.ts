import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { until } from '../support/smtp';

describe("retention: the channels' records", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  const apps: TestApp[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    await db?.drop();
  });

  it('deletes log lines and decided sends older than channelDays in small batches; keeps pending, sending and recent ones', async () => {
    // Notifications kept (no `days`): only the channels' records age out.
    const t = await startApp(db.url, { retention: { channelDays: 7, intervalMs: 100, batchSize: 3 } }, { gateway: false });
    apps.push(t);
    const q = <T>(sql: string, params: unknown[] = []) => t.dataSource.query(sql, params) as Promise<T[]>;
    const users = ['rc-1', 'rc-2', 'rc-3', 'rc-4', 'rc-5', 'rc-6', 'rc-7'];
    const rows = await t.service.notify(users, { type: 't', title: 'x' });
    const statuses = ['sent', 'skipped', 'failed', 'cancelled', 'sent', 'pending', 'sending'];
    // Seven sends decided (or not) 8 days ago, and the same seven decided now, on another channel.
    await q(
      `INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at, status, updated_at)
       SELECT n.id, n.user_id, c.channel, '', 'seen', now(), s.status, now() - c.age
         FROM unnest($1::bigint[], $2::text[], $3::text[]) AS n(id, user_id, status)
         JOIN LATERAL (SELECT n.status) s ON true
        CROSS JOIN (VALUES ('email', interval '8 days'), ('webPush', interval '0')) AS c(channel, age)`,
      [rows.map((r) => r.id), users, statuses],
    );
    // Ten old log lines, then two recent ones.
    await q(
      `INSERT INTO inbox_channel_log (user_id, channel, notification_ids, outcome, at)
       SELECT 'rc-1', 'email', ARRAY[$1::bigint], 'sent', now() - CASE WHEN g <= 10 THEN interval '8 days' ELSE interval '1 day' END
         FROM generate_series(1, 12) g ORDER BY g`,
      [rows[0].id],
    );
    await until(
      'the old records are pruned',
      async () =>
        (await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_log`))[0].n === 2 &&
        (await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_send`))[0].n === 9,
    );
    const left = await q<{ key: string }>(`SELECT channel || ':' || status AS key FROM inbox_channel_send ORDER BY 1`);
    expect(left.map((r) => r.key)).toEqual([
      'email:pending',
      'email:sending',
      ...['cancelled', 'failed', 'pending', 'sending', 'sent', 'sent', 'skipped'].map((s) => `webPush:${s}`),
    ]);
    expect((await t.service.channelHistory('rc-1')).map((h) => h.at.getTime() > Date.now() - 2 * 86_400_000)).toEqual([true, true]);
    expect(await q(`SELECT count(*)::int AS n FROM inbox_notification`)).toEqual([{ n: 7 }]);
  });

  it('reads a bounded batch: the oldest log lines by primary key, the decided sends by their partial index', async () => {
    // One connection: the setting is the session's. A few rows here: a sequential scan would
    // win, so it is ruled out to see which index serves the statement.
    const runner = apps[0].dataSource.createQueryRunner();
    await runner.connect();
    const plan = async (sql: string) =>
      ((await runner.query(`EXPLAIN (FORMAT JSON) ${sql}`)) as { 'QUERY PLAN': unknown }[])[0]['QUERY PLAN'];
    await runner.query(`SET enable_seqscan = off`);
    const log = JSON.stringify(await plan(`SELECT id FROM inbox_channel_log ORDER BY id LIMIT 3`));
    const sends = JSON.stringify(
      await plan(
        `SELECT notification_id FROM inbox_channel_send WHERE status IN ('sent', 'skipped', 'failed', 'cancelled')
          AND updated_at < now() - interval '7 days' ORDER BY updated_at LIMIT 3`,
      ),
    );
    await runner.query(`RESET enable_seqscan`);
    await runner.release();
    expect(log).toContain('inbox_channel_log_pkey');
    expect(sends).toContain('inbox_channel_send_decided_idx');
  });
});
