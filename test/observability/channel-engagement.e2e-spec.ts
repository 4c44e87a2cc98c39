import type { MailTransporter } from 'nestjs-inbox';
import { createTransport } from 'nodemailer';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { startSmtp, type TestSmtp, until } from '../support/smtp';

interface ChannelRate {
  type: string;
  channel: string;
  planned: number;
  pending: number;
  sent: number;
  skipped: number;
  failed: number;
  cancelled: number;
  avg_seconds_to_send: number | null;
}

/**
 * `inbox_channel_engagement(since, until)`: per type and channel, the window's sends by status,
 * against e-mails sent through the real channel engine to a real SMTP server.
 */
describe('inbox_channel_engagement, per-channel rates in SQL', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let smtp: TestSmtp;
  let t: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    smtp = await startSmtp();
    // The real SMTP transport, but a refusal for one address (a send that fails on every attempt).
    const smtpTransport = createTransport(smtp.url);
    const transport: MailTransporter = {
      sendMail: async (mail) => {
        if (JSON.stringify(mail.to).includes('fails@')) throw new Error('550 mailbox unavailable');
        return smtpTransport.sendMail(mail);
      },
    };
    t = await startApp(
      db.url,
      {
        channels: {
          pollMs: 20,
          maxAttempts: 1,
          email: {
            transport,
            from: 'Acme <no-reply@acme.example>',
            // nomail-*: no address (skipped); later-*: a send still pending; fails-*: refused.
            address: (u) => (u.startsWith('nomail') ? null : `${u}@mail.test`),
            after: 0,
            types: ['ce-order', 'ce-late'],
          },
        },
      },
      { gateway: false },
    );
  });
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
    await db?.drop();
  });

  const q = <T>(sql: string, params: unknown[] = []) => t.dataSource.query(sql, params) as Promise<T[]>;
  const dbNow = async () => new Date((await q<{ now: string }>(`SELECT clock_timestamp() AS now`))[0].now);
  /** Each of `ids` has its send planned, and none is still to be decided (`pending` ones allowed: `open`). */
  const planned = async (ids: string[], open = 0) => {
    const [r] = await q<{ n: number; open: number }>(
      `SELECT count(*)::int AS n, (count(*) FILTER (WHERE status IN ('pending', 'sending')))::int AS open
         FROM inbox_channel_send WHERE notification_id = ANY($1)`,
      [ids],
    );
    return r.n === ids.length && r.open === open;
  };

  it('counts the sends of the window by type, channel and status, with the time to send', async () => {
    await t.service.notify('ann', { type: 'ce-order', title: 'before the window' });
    const since = await dbNow();
    const sent = await t.service.notify(['ann', 'bob', 'cid'], { type: 'ce-order', title: 'order shipped' });
    const [skipped] = await t.service.notify('nomail-dee', { type: 'ce-order', title: 'no address' });
    const [failed] = await t.service.notify('fails', { type: 'ce-order', title: 'refused' });
    // Seen before it is due: its pending send is cancelled in the mark's transaction.
    const [seen] = await t.service.notify('eve', { type: 'ce-late', title: 'seen', channels: { email: { after: 3_600_000 } } });
    await until('the seen one is planned', () => planned([seen.id], 1));
    await t.service.markSeen('eve', [seen.id]);
    // Still pending at the end of the window: due in an hour.
    const [pending] = await t.service.notify('fay', { type: 'ce-late', title: 'later', channels: { email: { after: 3_600_000 } } });
    // No channel: no send.
    await t.service.notify('gus', { type: 'ce-inbox', title: 'inbox only' });
    const ids = [...sent.map((n) => n.id), skipped.id, failed.id];
    await until('the due sends are decided, the later one planned', async () => (await planned(ids)) && planned([pending.id], 1));
    const until_ = await dbNow();
    await t.service.notify('ann', { type: 'ce-order', title: 'after the window' });
    await until('everything that went out reached the SMTP server', () =>
      ['ann', 'bob', 'cid'].every((u) => smtp.to(`${u}@mail.test`).length >= 1),
    );

    const rates = await q<ChannelRate>(
      `SELECT type, channel, planned::int, pending::int, sent::int, skipped::int, failed::int, cancelled::int, avg_seconds_to_send
         FROM inbox_channel_engagement($1, $2)`,
      [since, until_],
    );
    expect(rates).toEqual([
      {
        type: 'ce-late',
        channel: 'email',
        planned: 2,
        pending: 1,
        sent: 0,
        skipped: 0,
        failed: 0,
        cancelled: 1,
        avg_seconds_to_send: null,
      },
      {
        type: 'ce-order',
        channel: 'email',
        planned: 5,
        pending: 0,
        sent: 3,
        skipped: 1,
        failed: 1,
        cancelled: 0,
        avg_seconds_to_send: expect.any(Number),
      },
    ]);
    expect(rates[1].avg_seconds_to_send).toBeGreaterThanOrEqual(0);
    expect(rates[1].avg_seconds_to_send).toBeLessThan(60);
    // The same counts as the sends' own rows.
    const [{ sent: rows }] = await q<{ sent: number }>(
      `SELECT count(*)::int AS sent FROM inbox_channel_send WHERE status = 'sent' AND notification_id = ANY($1)`,
      [ids],
    );
    expect(rows).toBe(3);
    expect(pending.id).toBeTruthy();
  });

  it('answers nothing for a window without notifications', async () => {
    const future = new Date(Date.now() + 3_600_000);
    expect(await q(`SELECT * FROM inbox_channel_engagement($1)`, [future])).toEqual([]);
  });
});
