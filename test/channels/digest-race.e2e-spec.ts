import type { ChildProcess } from 'node:child_process';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { startSmtp, type TestSmtp, until } from '../support/smtp';
import { spawnWorker, stopWorker } from './worker-process';

const USERS = 40;
const PER_USER = 5;

describe('channels: two instances (two processes) claiming digests at once', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let smtp: TestSmtp;
  let producer: TestApp;
  const workers: ChildProcess[] = [];
  const apps: TestApp[] = [];
  const q = <T>(sql: string, params: unknown[] = []) => producer.dataSource.query(sql, params) as Promise<T[]>;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    smtp = await startSmtp();
    // Stores the notifications; no channel engine of its own.
    producer = await startApp(db.url, {}, { gateway: false });
    // Two instances, this process and another, claims of several inboxes each (so that they
    // overlap); each tells its e-mails by its sender.
    const email = { transport: smtp.url, address: (u: string) => `${u}@mail.test`, after: 0, digest: 1000 };
    const [worker, instance] = await Promise.all([
      spawnWorker({ DATABASE_URL: db.url, SMTP_URL: smtp.url, DIGEST_MS: '1000', CLAIM_BATCH: '10', FROM: 'b <b@acme.example>' }),
      startApp(db.url, { channels: { pollMs: 20, claimBatch: 10, email: { ...email, from: 'a <a@acme.example>' } } }, { gateway: false }),
    ]);
    workers.push(worker);
    apps.push(instance);
  });
  afterAll(async () => {
    await Promise.all([...workers.map(stopWorker), ...apps.map((a) => a.close())]);
    await producer?.close();
    await smtp?.close();
    await db?.drop();
  });

  it('each inbox gets exactly one digest with every due notification, whichever instance claims it', async () => {
    const users = Array.from({ length: USERS }, (_, i) => `dg-${i}`);
    const ids = new Map<string, string[]>();
    for (let k = 0; k < PER_USER; k++) {
      const rows = await producer.service.notify(users, { type: 'comment', title: `n${k}` });
      rows.forEach((r, i) => ids.set(users[i], [...(ids.get(users[i]) ?? []), r.id]));
    }
    // Every send due past the window at once, the users' sends interleaved in due order: what
    // a backlog (an outage of the SMTP server, instances restarting) leaves for the next polls.
    await q(
      `INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at)
       SELECT id, user_id, 'email', '', 'seen', now() - interval '2 seconds' - random() * interval '1 second'
         FROM inbox_notification WHERE user_id LIKE 'dg-%'`,
    );
    await until(
      'every send is decided',
      async () =>
        (
          await q<{ n: number }>(
            `SELECT count(*)::int AS n FROM inbox_channel_send WHERE user_id LIKE 'dg-%' AND status IN ('pending', 'sending')`,
          )
        )[0].n === 0,
      30_000,
    );
    const senders = new Set<string>();
    for (const u of users) {
      const mails = smtp.to(`${u}@mail.test`);
      expect(
        mails.map((m) => m.subject),
        u,
      ).toEqual([`${PER_USER} new notifications`]);
      senders.add(mails[0].from!.value[0].address!);
      const [entry, ...rest] = await producer.service.channelHistory(u);
      expect(rest).toEqual([]);
      expect(entry).toMatchObject({ outcome: 'sent', messageId: mails[0].messageId });
      expect(new Set(entry.notificationIds)).toEqual(new Set(ids.get(u)));
    }
    // Both instances took part: the digests were claimed concurrently, not by one alone.
    expect(senders).toEqual(new Set(['a@acme.example', 'b@acme.example']));
  }, 90_000);
});
