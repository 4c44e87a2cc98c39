import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { ChannelEngine } from '../../libs/nestjs-inbox/src/channels/channel-engine';
import { spawnWorker } from './worker-process';

describe('channels: SIGKILL between the claim and the send', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let smtp: SMTPServer;
  let smtpUrl: string;
  const mails: ParsedMail[] = [];
  /** Called when the SMTP server sees a sender (the send began) or accepted a message, by user. */
  let onMailFrom: () => void = () => undefined;
  let onAccepted: () => void = () => undefined;
  let producer: TestApp;
  const q = <T>(sql: string, params: unknown[] = []) => producer.dataSource.query(sql, params) as Promise<T[]>;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      onMailFrom(_address, _session, callback) {
        onMailFrom();
        callback();
      },
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then((mail) => {
            mails.push(mail);
            callback();
            onAccepted();
          })
          .catch((err: Error) => callback(err));
      },
    });
    // A killed client resets its connection: expected here.
    smtp.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ECONNRESET') throw err;
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    smtpUrl = `smtp://127.0.0.1:${(smtp.server.address() as AddressInfo).port}`;
    // Stores the notifications; no channel engine of its own.
    producer = await startApp(db.url, {}, { gateway: false });
  });
  afterAll(async () => {
    await producer?.close();
    await new Promise<void>((resolve) => smtp?.close(() => resolve()));
    await db?.drop();
  });

  const statusOf = async (userId: string) =>
    (await q<{ status: string }>(`SELECT status FROM inbox_channel_send WHERE user_id = $1`, [userId]))[0]?.status;

  it.each([
    ['before the SMTP server accepted it: no e-mail at all', 'mailFrom', 0],
    ['after the SMTP server accepted it: exactly one e-mail', 'accepted', 1],
  ] as const)(
    '%s, and never a second from another instance',
    async (_name, when, expected) => {
      const user = `crash-${when}`;
      const [n] = await producer.service.notify(user, { type: 'comment', title: `for ${user}` });
      // Its send, due now (as the planner writes it).
      await q(
        `INSERT INTO inbox_channel_send (notification_id, user_id, channel, scope, until, due_at) VALUES ($1, $2, 'email', '', 'seen', now())`,
        [n.id, user],
      );
      const worker = await spawnWorker({ DATABASE_URL: db.url, SMTP_URL: smtpUrl });
      let other: TestApp | undefined;
      try {
        await new Promise<void>((resolve) => {
          const kill = () => {
            worker.kill('SIGKILL');
            onMailFrom = onAccepted = () => undefined;
            resolve();
          };
          if (when === 'mailFrom') onMailFrom = kill;
          else onAccepted = kill;
        });
        await new Promise((resolve) =>
          worker.exitCode !== null || worker.signalCode !== null ? resolve(null) : worker.once('exit', resolve),
        );
        expect(await statusOf(user)).toBe('sending');
        expect(mails.filter((m) => m.subject === `for ${user}`)).toHaveLength(expected);

        // Another instance, its engine run by hand: it does not claim a send left `sending`.
        other = await startApp(
          db.url,
          {
            channels: {
              pollMs: 3_600_000,
              email: { transport: smtpUrl, from: 'Acme <no-reply@acme.example>', address: (u) => `${u}@mail.test`, after: 0 },
            },
          },
          { gateway: false },
        );
        const engine = other.app.get(ChannelEngine);
        expect(await engine.run()).toBe(0);
        expect(await statusOf(user)).toBe('sending');
        // Ten minutes later (backdated here) it is recorded failed, and still not sent again.
        await q(`UPDATE inbox_channel_send SET updated_at = now() - interval '11 minutes' WHERE user_id = $1`, [user]);
        expect(await engine.run()).toBe(0);
        expect(await statusOf(user)).toBe('failed');
        expect((await other.service.channelHistory(user))[0]).toMatchObject({
          outcome: 'failed',
          reason: 'interrupted: the process ended while sending',
        });
        expect(mails.filter((m) => m.subject === `for ${user}`)).toHaveLength(expected);
      } finally {
        worker.kill('SIGKILL');
        await other?.close();
      }
    },
    60_000,
  );
});
