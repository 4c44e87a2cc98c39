/**
 * `npm run bench:channels`: the channel engine against a real SMTP server (smtp-server) and the
 * machine's Postgres. Prints, as JSON:
 *
 * - race: USERS users, two instances, each user seeing their notification at a moment from 400 ms
 *   before to 100 ms after its send is due: how many finished seeing before the deadline, how many
 *   of those got the e-mail (must be 0), how many got two (must be 0);
 * - throughput: SENDS sends due at once on one instance: sends per second, through SMTP;
 * - read cost: markRead by id of a notification with a pending send, against one without;
 * - plan: a broadcast asking for e-mail to PLAN_USERS users, side by side in one run: the users
 *   the inbox has state for, and the same users from the host's `broadcastAudience` (an async
 *   generator reading pages of 5,000 from a users table, as a host would): the `broadcast` call,
 *   time to plan, rows per second, memory. `BENCH_ONLY=plan` runs only this part.
 */
import { performance } from 'node:perf_hooks';
import type { BroadcastAudience } from 'nestjs-inbox';
import { ChannelPlanner } from '../libs/nestjs-inbox/src/channels/channel-planner';
import { migrate, startApp, type TestApp } from '../test/support/app';
import { createDatabase } from '../test/support/database';
import { startSmtp, until } from '../test/support/smtp';

const USERS = Number(process.env.USERS ?? 1000);
const SENDS = Number(process.env.SENDS ?? 1000);
const PLAN_USERS = Number(process.env.PLAN_USERS ?? 100_000);
const FROM = 'Bench <bench@bench.example>';
/** `BENCH_ONLY=plan`: only the broadcast's planning (the other parts take minutes). */
const ONLY_PLAN = process.env.BENCH_ONLY === 'plan';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const db = await createDatabase();
  const smtp = await startSmtp();
  const apps: TestApp[] = [];
  const start = async (after: number, broadcastAudience?: BroadcastAudience) => {
    const app = await startApp(
      db.url,
      { channels: { pollMs: 20, broadcastAudience, email: { transport: smtp.url, from: FROM, address: (u) => `${u}@bench.test`, after } } },
      { gateway: false },
    );
    apps.push(app);
    return app;
  };
  const q = <T>(sql: string, params: unknown[] = []) => apps[0].dataSource.query(sql, params) as Promise<T[]>;
  const stopAll = () => Promise.all(apps.splice(0).map((a) => a.close()));
  const result: Record<string, unknown> = {};
  try {
    await migrate(db.url);
    if (ONLY_PLAN) {
      result.plan = await planBench(start, q);
      console.log(JSON.stringify(result, null, 2));
      return;
    }

    // The race around the deadline, two instances.
    const a = await start(2000);
    await start(2000);
    const users = Array.from({ length: USERS }, (_, i) => `race-${i}`);
    const stored = await Promise.all(users.map((u) => a.service.notify(u, { type: 'comment', title: u }).then(([n]) => n)));
    await until('every send is planned', async () => {
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_send WHERE user_id LIKE 'race-%'`);
      return n === USERS;
    });
    const due = new Map(
      (await q<{ user_id: string; due: Date }>(`SELECT user_id, due_at AS due FROM inbox_channel_send WHERE user_id LIKE 'race-%'`)).map(
        (r) => [r.user_id, r.due.getTime()],
      ),
    );
    const done = new Map<string, number>();
    await Promise.all(
      users.map(async (u, i) => {
        await new Promise((r) => setTimeout(r, Math.max(0, due.get(u)! - 400 + ((i * 37) % 501) - Date.now())));
        await a.service.markSeen(u, [stored[i].id]);
        done.set(u, Date.now());
      }),
    );
    await until(
      'every race send is decided',
      async () =>
        (
          await q<{ n: number }>(
            `SELECT count(*)::int AS n FROM inbox_channel_send WHERE user_id LIKE 'race-%' AND status IN ('pending', 'sending')`,
          )
        )[0].n === 0,
      120_000,
    );
    let before = 0;
    let mailedAfterReadingFirst = 0;
    let twice = 0;
    let mailed = 0;
    for (const u of users) {
      const n = smtp.to(`${u}@bench.test`).length;
      mailed += n;
      if (n > 1) twice++;
      if (done.get(u)! < due.get(u)!) {
        before++;
        if (n > 0) mailedAfterReadingFirst++;
      }
    }
    result.race = {
      users: USERS,
      instances: 2,
      seenBeforeDeadline: before,
      mailedAfterSeeingFirst: mailedAfterReadingFirst,
      mailedTwice: twice,
      mailed,
    };
    await stopAll();

    // Sends per second, one instance, everything due at once.
    const one = await start(600_000);
    const many = Array.from({ length: SENDS }, (_, i) => `tp-${i}`);
    for (let i = 0; i < many.length; i += 500) await one.service.notify(many.slice(i, i + 500), { type: 'comment', title: 'throughput' });
    await until(
      'throughput sends planned',
      async () => (await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_send WHERE user_id LIKE 'tp-%'`))[0].n === SENDS,
    );
    const received = smtp.received.length;
    const t0 = performance.now();
    await q(`UPDATE inbox_channel_send SET due_at = now() WHERE user_id LIKE 'tp-%'`);
    await until('every throughput send is sent', () => smtp.received.length - received === SENDS, 300_000);
    const seconds = (performance.now() - t0) / 1000;
    result.throughput = { sends: SENDS, seconds: +seconds.toFixed(2), sendsPerSecondPerInstance: Math.round(SENDS / seconds) };

    // The cost of a read with a pending send (its trigger cancels and logs it) and without.
    const reads = async (prefix: string, channels: { email: boolean }) => {
      const ids: [string, string][] = [];
      for (let i = 0; i < 300; i++) {
        const [n] = await one.service.notify(`${prefix}-${i}`, { type: 'comment', title: 'r', channels });
        ids.push([`${prefix}-${i}`, n.id]);
      }
      const times: number[] = [];
      for (const [u, id] of ids) {
        const s = performance.now();
        await one.service.markRead(u, [id]);
        times.push(performance.now() - s);
      }
      return +median(times).toFixed(3);
    };
    result.readCostMs = { medianWithPendingSend: await reads('rp', { email: true }), medianWithout: await reads('rn', { email: false }) };

    result.plan = await planBench(start, q);
  } finally {
    await stopAll();
    await smtp.close();
    await db.drop();
  }
  console.log(JSON.stringify(result, null, 2));
}

type Start = (after: number, broadcastAudience?: BroadcastAudience) => Promise<TestApp>;
type Query = <T>(sql: string, params?: unknown[]) => Promise<T[]>;

/** A broadcast asking for e-mail to PLAN_USERS users: from the users with state, then from the host's hook (three runs each, alternated). */
async function planBench(start: Start, q: Query): Promise<Record<string, unknown>> {
  // The host's hook: its users table, a keyset page of 5,000 at a time.
  const fromTable: BroadcastAudience = async function* () {
    let after = '';
    for (;;) {
      const page = await q<{ id: string }>(`SELECT id FROM bench_users WHERE id > $1 ORDER BY id LIMIT 5000`, [after]);
      if (page.length === 0) return;
      yield page.map((r) => r.id);
      after = page[page.length - 1].id;
    }
  };
  const known = await start(600_000);
  const hooked = await start(600_000, fromTable);
  await q(`CREATE TABLE bench_users (id text PRIMARY KEY)`);
  await q(`INSERT INTO bench_users SELECT 'pl-' || lpad(g::text, 7, '0') FROM generate_series(1, $1) g`, [PLAN_USERS]);
  await q(`INSERT INTO inbox_user_state (user_id) SELECT id FROM bench_users`);
  const runs: Record<string, object[]> = { knownUsers: [], hostHook: [] };
  for (let i = 0; i < 3; i++) {
    for (const [name, t] of [
      ['knownUsers', known],
      ['hostHook', hooked],
    ] as const) {
      global.gc?.();
      const rss0 = process.memoryUsage().rss;
      let peak = rss0;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
      const p0 = performance.now();
      const b = await t.service.broadcast({ type: 'news', title: 'to all', channels: { email: { after: 3_000_000 } } });
      const callMs = performance.now() - p0;
      await t.app.get(ChannelPlanner).settled();
      const seconds = (performance.now() - p0) / 1000;
      clearInterval(sampler);
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_send WHERE notification_id = $1`, [b!.id]);
      runs[name].push({
        rows: n,
        broadcastCallMs: +callMs.toFixed(1),
        planSeconds: +seconds.toFixed(2),
        rowsPerSecond: Math.round(n / seconds),
        rssPeakGrowthMb: +((peak - rss0) / 1e6).toFixed(1),
      });
      await q(`DELETE FROM inbox_channel_send WHERE notification_id = $1`, [b!.id]);
    }
  }
  return { users: PLAN_USERS, ...runs };
}

main().catch((err: Error) => {
  console.error(err);
  process.exit(1);
});
