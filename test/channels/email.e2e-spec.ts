import { createHash } from 'node:crypto';
import type { MailTransporter, NotificationsChannelsOptions } from 'nestjs-inbox';
import { signRequest } from '../../libs/nestjs-inbox/src/producers/request-signature';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { startSmtp, type TestSmtp, until } from '../support/smtp';

const FROM = 'Acme <no-reply@acme.example>';
const addressOf = (userId: string) => (userId.startsWith('nomail') ? null : `${userId}@mail.test`);

describe('channels: e-mail through a real SMTP server', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let smtp: TestSmtp;
  const apps: TestApp[] = [];

  const start = async (
    email: Partial<NonNullable<NotificationsChannelsOptions['email']>> = {},
    channels: Partial<NotificationsChannelsOptions> = {},
  ) => {
    const app = await startApp(
      db.url,
      {
        channels: {
          pollMs: 20,
          retryBaseMs: 20,
          ...channels,
          email: { transport: smtp.url, from: FROM, address: addressOf, after: 200, baseUrl: 'https://app.test', ...email },
        },
      },
      { gateway: false },
    );
    apps.push(app);
    return app;
  };
  const stop = async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  };
  const q = <T = Record<string, unknown>>(sql: string, params: unknown[] = []) => apps[0].dataSource.query(sql, params) as Promise<T[]>;
  const sendsOf = (userId: string) => q<{ status: string }>(`SELECT status FROM inbox_channel_send WHERE user_id = $1`, [userId]);
  const settled = async (userId: string) => {
    const sends = await sendsOf(userId);
    return sends.length > 0 && sends.every((s) => !['pending', 'sending'].includes(s.status));
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    smtp = await startSmtp();
  });
  afterAll(async () => {
    await stop();
    await smtp?.close();
    await db?.drop();
  });

  describe('one module configuration', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await start({ unsubscribeUrl: (u, scope) => `https://app.test/unsubscribe?u=${u}&s=${scope ?? ''}` });
    });
    afterAll(stop);

    it('e-mails a notification still unseen after the delay, once, escaped, with a Message-ID derived from what it sends', async () => {
      const [n] = await t.service.notify('ann', {
        type: 'comment',
        title: 'Bob <b>replied</b>',
        body: 'Look & see',
        url: '/posts/1',
        actions: [{ label: 'Open', url: 'https://app.test/posts/1' }],
      });
      await until('ann gets the e-mail', () => smtp.to('ann@mail.test').length === 1);
      await until('the send is recorded', () => settled('ann'));
      const [mail] = smtp.to('ann@mail.test');
      expect(mail.subject).toBe('Bob <b>replied</b>');
      expect(mail.from?.value[0]).toMatchObject({ name: 'Acme', address: 'no-reply@acme.example' });
      expect(mail.text).toContain('Look & see');
      expect(mail.text).toContain('https://app.test/posts/1');
      expect(mail.text).toContain('Open: https://app.test/posts/1');
      expect(mail.text).toContain('Unsubscribe: https://app.test/unsubscribe?u=ann&s=');
      expect(mail.html).toContain('Bob &lt;b&gt;replied&lt;/b&gt;');
      expect(mail.html).not.toContain('<b>replied');
      const hash = createHash('sha256')
        .update(JSON.stringify(['email', 'ann', '', [n.id]]))
        .digest('hex')
        .slice(0, 40);
      expect(mail.messageId).toBe(`<${hash}@acme.example>`);
      const history = await t.service.channelHistory('ann');
      expect(history).toMatchObject([
        { channel: 'email', outcome: 'sent', notificationIds: [n.id], messageId: mail.messageId, scope: null },
      ]);
      // Nothing more goes out for it.
      expect(smtp.to('ann@mail.test')).toHaveLength(1);
    });

    it('seeing or reading within the delay cancels in the same transaction; mark-all is caught at claim time', async () => {
      const [seen] = await t.service.notify('cid', { type: 'comment', title: 'seen' });
      const [read] = await t.service.notify('cid', { type: 'comment', title: 'read' });
      await t.service.markSeen('cid', [seen.id]);
      await t.service.markRead('cid', [read.id]);
      const status = await q<{ notification_id: string; status: string }>(
        `SELECT notification_id::text, status FROM inbox_channel_send WHERE user_id = 'cid' ORDER BY notification_id`,
      );
      expect(status).toEqual([
        { notification_id: seen.id, status: 'cancelled' },
        { notification_id: read.id, status: 'cancelled' },
      ]);
      const [all] = await t.service.notify('cid', { type: 'comment', title: 'all' });
      await t.service.markAllRead('cid');
      await until('the mark-all one is settled', () => settled('cid'));
      expect(smtp.to('cid@mail.test')).toHaveLength(0);
      const history = await t.service.channelHistory('cid');
      expect(history.slice(1).map((h) => [h.notificationIds[0], h.outcome, h.reason])).toEqual([
        [read.id, 'cancelled', 'read'],
        [seen.id, 'cancelled', 'seen'],
      ]);
      // Mark-all moved the watermark (skipped at claim time), or, for a row of a transaction still
      // running at its horizon, marked the row itself (cancelled by its trigger).
      expect([
        ['skipped', 'already seen'],
        ['cancelled', 'read'],
      ]).toContainEqual([history[0].outcome, history[0].reason]);
      expect(history[0].notificationIds).toEqual([all.id]);
    });

    it('skips a user without an address, a muted channel, a type muted on it; waits for quiet hours to end; all recorded', async () => {
      await t.service.notify('nomail-1', { type: 'comment', title: 'x' });
      await t.service.setPreferences('dee', { channels: { email: { muted: true } } });
      await t.service.notify('dee', { type: 'comment', title: 'x' });
      await t.service.setPreferences('eve', { channels: { email: { types: ['digest'] } } });
      const [skippedType] = await t.service.notify('eve', { type: 'digest', title: 'x' });
      const [other] = await t.service.notify('eve', { type: 'comment', title: 'kept' });
      // Quiet all day but this minute's end: always quiet now, in a real zone.
      const now = new Date();
      const hhmm = (d: Date) => d.toISOString().slice(11, 16);
      const prefs = await t.service.setPreferences('fay', {
        quietHours: { start: hhmm(new Date(now.getTime() + 180_000)), end: hhmm(new Date(now.getTime() + 120_000)), timeZone: 'UTC' },
      });
      expect(prefs.quietHours?.timeZone).toBe('UTC');
      await t.service.notify('fay', { type: 'comment', title: 'later' });
      await until('every send is decided', async () => (await settled('nomail-1')) && (await settled('dee')) && (await settled('eve')));
      await until("fay's send is deferred", async () => (await t.service.channelHistory('fay')).length === 1);
      expect((await t.service.channelHistory('nomail-1'))[0]).toMatchObject({ outcome: 'skipped', reason: 'no address' });
      expect((await t.service.channelHistory('dee'))[0]).toMatchObject({ outcome: 'skipped', reason: 'email muted' });
      const eve = await t.service.channelHistory('eve');
      expect(eve.find((h) => h.notificationIds[0] === skippedType.id)).toMatchObject({
        outcome: 'skipped',
        reason: "type 'digest' muted on email",
      });
      expect(eve.find((h) => h.notificationIds[0] === other.id)).toMatchObject({ outcome: 'sent' });
      const [fay] = await t.service.channelHistory('fay');
      expect(fay.outcome).toBe('deferred');
      const [{ due }] = await q<{ due: Date }>(`SELECT due_at AS due FROM inbox_channel_send WHERE user_id = 'fay'`);
      expect(due.getTime()).toBeGreaterThan(now.getTime() + 59_000);
      expect(smtp.to('fay@mail.test')).toHaveLength(0);
      expect(smtp.to('dee@mail.test')).toHaveLength(0);
      expect(smtp.to('eve@mail.test').map((m) => m.subject)).toEqual(['kept']);
    });

    it('a notification chooses: email false, its own delay; a broadcast or publication only when it asks, in batches after commit', async () => {
      await t.service.notify('gus', { type: 'comment', title: 'never', channels: { email: false } });
      await t.service.notify('gus', { type: 'comment', title: 'soon', channels: { email: { after: 0 } } });
      await until('gus gets the quick one', () => smtp.to('gus@mail.test').length === 1);
      expect(smtp.to('gus@mail.test')[0].subject).toBe('soon');

      // hal has preferences, so a row the broadcast's audience is read from (docs/channels.md).
      await t.service.setPreferences('hal', { muted: { types: [] } });
      await t.service.subscribe('hal', 'releases');
      await t.service.subscribe('ida', 'releases');
      await t.service.publish('releases', { type: 'release', title: 'quiet release' });
      const asked = await t.service.publish('releases', { type: 'release', title: 'v2', channels: { email: true } });
      await until('both subscribers get v2', () => smtp.to('hal@mail.test').length === 1 && smtp.to('ida@mail.test').length === 1);
      expect(smtp.to('hal@mail.test')[0].subject).toBe('v2');
      const [{ n }] = await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_channel_send WHERE notification_id = $1`, [asked!.id]);
      expect(n).toBe(2);
      // A broadcast that asks reaches the users the inbox knows (hal and ida have state rows now).
      await t.service.broadcast({ type: 'news', title: 'for all', channels: { email: { after: 0 } } });
      await until('hal gets the broadcast', () => smtp.to('hal@mail.test').some((m) => m.subject === 'for all'));
    });

    it('per inbox: a scoped notification follows its scope inbox preferences and state; the unscoped inbox has its own', async () => {
      await t.service.setPreferences('ned', { channels: { email: { muted: true } } }, { scope: 'acme' });
      const [muted] = await t.service.notify('ned', { type: 'comment', title: 'in acme', scope: 'acme' });
      const [kept] = await t.service.notify('ned', { type: 'comment', title: 'site-wide' });
      const [other] = await t.service.notify('ned', { type: 'comment', title: 'in beta', scope: 'beta' });
      // Seen in beta's inbox: its e-mail is cancelled there.
      await t.service.markSeen('ned', [other.id], { scope: 'beta' });
      await until('ned gets the unscoped one', () => smtp.to('ned@mail.test').length === 1);
      await until('every send of ned is decided', () => settled('ned'));
      const [mail] = smtp.to('ned@mail.test');
      expect(mail.subject).toBe('site-wide');
      expect(mail.text).toContain('https://app.test/unsubscribe?u=ned&s=\n');
      const byId = new Map((await t.service.channelHistory('ned')).map((h) => [h.notificationIds[0], h]));
      expect(byId.get(muted.id)).toMatchObject({ scope: 'acme', outcome: 'skipped', reason: 'email muted' });
      expect(byId.get(kept.id)).toMatchObject({ scope: null, outcome: 'sent' });
      expect(byId.get(other.id)).toMatchObject({ scope: 'beta', outcome: 'cancelled', reason: 'seen' });
      expect((await t.service.channelHistory('ned', { scope: 'acme' })).map((h) => h.notificationIds[0])).toEqual([muted.id]);
      expect((await t.service.getPreferences('ned')).channels).toEqual({});
      expect((await t.service.getPreferences('ned', { scope: 'acme' })).channels).toEqual({ email: { muted: true, types: [] } });
    });

    it('refuses bad channels and preferences, naming the field, storing nothing', async () => {
      const bad = async (input: object, message: RegExp) => {
        await expect(t.service.notify('jon', { type: 't', ...input })).rejects.toThrow(message);
      };
      await bad({ channels: { sms: true } }, /notification: channels\.sms: is not a channel \(email, webPush\)/);
      await bad(
        { channels: { email: { after: -1 } } },
        /notification: channels\.email.*after: must be a number of ms from 0 to 2592000000/,
      );
      await bad({ channels: { email: { after: 31 * 24 * 3600 * 1000 } } }, /channels\.email.*after/);
      await bad({ channels: { email: 'yes' } }, /channels\.email: must be true, false or \{ after \}/);
      expect((await t.service.list('jon', { type: 't' })).items).toEqual([]);
      await expect(t.service.setPreferences('jon', { quietHours: { start: '25:00', end: '07:00', timeZone: 'UTC' } })).rejects.toThrow(
        /preferences: quietHours\.start: must be a time 'HH:MM'/,
      );
      await expect(
        t.service.setPreferences('jon', { quietHours: { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus' } }),
      ).rejects.toThrow(/preferences: quietHours\.timeZone: must be an IANA time zone/);
      await expect(t.service.setPreferences('jon', { channels: { sms: { muted: true } } } as never)).rejects.toThrow(
        /preferences: channels\.sms: is not a channel/,
      );
      expect(await t.service.getPreferences('jon')).toEqual({ muted: { types: [], topics: [] }, channels: {}, quietHours: null });
    });
  });

  it('a notification stored by the SQL door is e-mailed by the module rules, once with two listening instances', async () => {
    const gatewayApp = (extra: object) =>
      startApp(db.url, { channels: { pollMs: 20, email: { transport: smtp.url, from: FROM, address: addressOf, after: 0 } }, ...extra });
    apps.push(await gatewayApp({}), await gatewayApp({}));
    try {
      await q(`SELECT inbox_notify(ARRAY['sql-user'], '{"type": "t", "title": "from sql"}'::jsonb)`);
      await until('sql-user gets it', () => smtp.to('sql-user@mail.test').length === 1);
      await until('the send is recorded', () => settled('sql-user'));
      expect(smtp.to('sql-user@mail.test').map((m) => m.subject)).toEqual(['from sql']);
    } finally {
      await stop();
    }
  });

  it('the SQL door takes channels (false, true, { after }, a publication asking for e-mail) and refuses bad ones with 22023', async () => {
    const gatewayApp = () =>
      startApp(db.url, {
        channels: { pollMs: 20, email: { transport: smtp.url, from: FROM, address: addressOf, after: 0, types: ['wanted'] } },
      });
    apps.push(await gatewayApp(), await gatewayApp());
    try {
      await apps[0].service.subscribe('sql-sub', 'sql-news');
      const notify = (user: string, n: object) => q(`SELECT inbox_notify(ARRAY[$1::text], $2::jsonb)`, [user, JSON.stringify(n)]);
      // Each its own transaction, in this order: once the last one's e-mail is out, the listeners read the others.
      await notify('sql-off', { type: 'wanted', title: 'not by e-mail', channels: { email: false } });
      await notify('sql-later', { type: 'wanted', title: 'in an hour', channels: { email: { after: 3_600_000 } } });
      await q(`SELECT inbox_publish('sql-news', $1::text)`, [
        JSON.stringify({ type: 'news', title: 'to subscribers by e-mail', channels: { email: true } }),
      ]);
      // Its type is not in the module's `types`: e-mailed because the notification asks.
      await notify('sql-on', { type: 'other', title: 'asked for e-mail', channels: { email: true } });
      await until('sql-on gets it', () => smtp.to('sql-on@mail.test').length === 1);
      await until('the subscriber gets the publication', () => smtp.to('sql-sub@mail.test').length === 1);
      expect(smtp.to('sql-on@mail.test').map((m) => m.subject)).toEqual(['asked for e-mail']);
      expect(smtp.to('sql-sub@mail.test').map((m) => m.subject)).toEqual(['to subscribers by e-mail']);
      expect(await sendsOf('sql-off')).toEqual([]);
      const [later] = await q<{ status: string; in_ms: number }>(
        `SELECT status, (extract(epoch FROM due_at - now()) * 1000)::float8 AS in_ms FROM inbox_channel_send WHERE user_id = 'sql-later'`,
      );
      expect(later.status).toBe('pending');
      expect(later.in_ms).toBeGreaterThan(3_500_000);
      expect(smtp.to('sql-off@mail.test').length + smtp.to('sql-later@mail.test').length).toBe(0);

      const before = await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_notification`);
      const refused: [string, object, RegExp][] = [
        ['notify', { channels: ['email'] }, /^inbox_notify: notification\.channels: must be an object \(\{ email, webPush \}\) or null$/],
        ['notify', { channels: { sms: true } }, /^inbox_notify: notification\.channels\.sms: is not a channel \(email, webPush\)$/],
        ['notify', { channels: { email: 'yes' } }, /^inbox_notify: notification\.channels\.email: must be true, false or \{ after \}$/],
        [
          'notify',
          { channels: { webPush: { after: 1, until: 'read' } } },
          /notification\.channels\.webPush: must be true, false or \{ after \}/,
        ],
        [
          'notify',
          { channels: { email: { after: -1 } } },
          /notification\.channels\.email\.after: must be a number of ms from 0 to 2592000000/,
        ],
        [
          'notify',
          { channels: { email: { after: 2_592_000_001 } } },
          /notification\.channels\.email\.after: must be a number of ms from 0/,
        ],
        ['notify', { channels: { email: { after: '60000' } } }, /notification\.channels\.email\.after: must be a number of ms/],
        ['notify', { channels: { email: { after: 1.5 } } }, /notification\.channels\.email\.after: must be an integer number of ms/],
        ['broadcast', { channels: { fax: true } }, /^inbox_broadcast: notification\.channels\.fax: is not a channel/],
        ['publish', { channels: 'email' }, /^inbox_publish: notification\.channels: must be an object/],
      ];
      for (const [fn, extra, message] of refused) {
        const n = JSON.stringify({ type: 't', ...extra });
        const call =
          fn === 'notify'
            ? q(`SELECT inbox_notify(ARRAY['sql-bad'], $1::jsonb)`, [n])
            : fn === 'broadcast'
              ? q(`SELECT inbox_broadcast($1::jsonb)`, [n])
              : q(`SELECT inbox_publish('sql-news', $1::jsonb)`, [n]);
        const err = await call.then(
          () => null,
          (e: { driverError?: { code?: string; message?: string } }) => e.driverError,
        );
        expect(err, JSON.stringify(extra)).toMatchObject({ code: '22023' });
        expect(err!.message).toMatch(message);
      }
      expect(await q<{ n: number }>(`SELECT count(*)::int AS n FROM inbox_notification`)).toEqual(before);
    } finally {
      await stop();
    }
  });

  it('a send left sending by a process that died between claim and send is recorded failed, never sent again', async () => {
    const t = await start({ after: 3_600_000 });
    try {
      const [n] = await t.service.notify('kit', { type: 'comment', title: 'claimed, then the process died' });
      // What a SIGKILL after the claim's commit leaves: the send `sending`, its process gone.
      await q(
        `UPDATE inbox_channel_send SET status = 'sending', attempts = 1, updated_at = now() - interval '11 minutes' WHERE user_id = 'kit'`,
      );
      await until('the interrupted send is recorded', async () => (await t.service.channelHistory('kit')).length === 1);
      expect((await t.service.channelHistory('kit'))[0]).toMatchObject({
        outcome: 'failed',
        reason: 'interrupted: the process ended while sending',
        notificationIds: [n.id],
      });
      expect(await sendsOf('kit')).toEqual([{ status: 'failed' }]);
      expect(smtp.to('kit@mail.test')).toHaveLength(0);
    } finally {
      await stop();
    }
  });

  it('the HTTP door takes channels: { email: { after } }, and refuses an unknown channel with 400 naming it', async () => {
    const secret = 'h'.repeat(32);
    const t = await startApp(
      db.url,
      { http: { secret }, channels: { pollMs: 20, email: { transport: smtp.url, from: FROM, address: addressOf, after: 3_600_000 } } },
      { gateway: false },
    );
    apps.push(t);
    try {
      const post = (body: object) => {
        const raw = JSON.stringify(body);
        return fetch(`${t.url}/inbox/notifications`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-inbox-signature': signRequest(secret, raw) },
          body: raw,
        });
      };
      const ok = await post({ to: 'hty', notification: { type: 'comment', title: 'over http', channels: { email: { after: 0 } } } });
      expect(ok.status).toBe(201);
      await until('hty gets it', () => smtp.to('hty@mail.test').length === 1);
      const bad = await post({ to: 'hty', notification: { type: 'comment', channels: { sms: true } } });
      expect(bad.status).toBe(400);
      expect(await bad.text()).toMatch(/message: notification\.channels\.sms: is not a channel \(email, webPush\)/);
    } finally {
      await stop();
    }
  });

  it('with a digest, one e-mail holds every pending notification of the inbox', async () => {
    const t = await start({ after: 0, digest: 400 });
    try {
      const ids = [];
      for (const title of ['one', 'two', 'three']) ids.push((await t.service.notify('kim', { type: 'comment', title }))[0].id);
      await until('kim gets the digest', () => smtp.to('kim@mail.test').length === 1);
      await until('the digest is recorded', async () => (await t.service.channelHistory('kim')).length === 1);
      const [mail] = smtp.to('kim@mail.test');
      expect(mail.subject).toBe('3 new notifications');
      expect(mail.text).toMatch(/one[\s\S]*two[\s\S]*three/);
      expect((await t.service.channelHistory('kim'))[0]).toMatchObject({ outcome: 'sent', notificationIds: ids });
    } finally {
      await stop();
    }
  });

  it('retries a failing transport with backoff, then gives up; each attempt recorded', async () => {
    let calls = 0;
    const flaky: MailTransporter = {
      sendMail: async () => {
        calls++;
        if (calls < 3) throw new Error('421 try later');
        return {};
      },
    };
    const t = await start({ transport: flaky, after: 0 }, { maxAttempts: 3 });
    try {
      await t.service.notify('lou', { type: 'comment', title: 'x' });
      await until('lou is sent on the third attempt', () => settled('lou'));
      expect((await t.service.channelHistory('lou')).map((h) => [h.outcome, h.attempt])).toEqual([
        ['sent', 3],
        ['retry', 2],
        ['retry', 1],
      ]);
      calls = -100;
      await t.service.notify('max', { type: 'comment', title: 'x' });
      await until('max is given up', () => settled('max'));
      const [last] = await t.service.channelHistory('max');
      expect(last).toMatchObject({ outcome: 'failed', attempt: 3 });
      expect(last.reason).toMatch(/gave up after 3 attempts: 421 try later/);
    } finally {
      await stop();
    }
  });

  it('two instances, 200 users reading around the deadline: no one who read before it is e-mailed, no one twice', async () => {
    // Long enough that storing 200 notifications on a busy machine leaves most of the read window ahead.
    const AFTER = 3000;
    const a = await start({ after: AFTER });
    await start({ after: AFTER });
    const users = Array.from({ length: 200 }, (_, i) => `race-${i}`);
    const stored = await Promise.all(users.map((u) => a.service.notify(u, { type: 'comment', title: `for ${u}` }).then(([n]) => n)));
    const due = new Map(
      (
        await q<{ user_id: string; due: Date }>(`SELECT user_id, due_at AS due FROM inbox_channel_send WHERE user_id = ANY($1)`, [users])
      ).map((r) => [r.user_id, r.due.getTime()]),
    );
    // Each user reads at a moment from 1,000 ms before their deadline to 100 ms after it (200 marks
    // on 10 connections queue: many finish later than they start, more so on a loaded machine).
    const readDone = new Map<string, number>();
    await Promise.all(
      users.map(async (u, i) => {
        const at = due.get(u)! - 1000 + ((i * 37) % 1101);
        await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        await a.service.markSeen(u, [stored[i].id]);
        readDone.set(u, Date.now());
      }),
    );
    await until('every send is decided', async () => {
      const [{ n }] = await q<{ n: number }>(
        `SELECT count(*)::int AS n FROM inbox_channel_send WHERE user_id = ANY($1) AND status IN ('pending', 'sending')`,
        [users],
      );
      return n === 0;
    });
    let readBefore = 0;
    let mailed = 0;
    for (const u of users) {
      const mails = smtp.to(`${u}@mail.test`);
      expect(mails.length).toBeLessThanOrEqual(1);
      mailed += mails.length;
      if (readDone.get(u)! < due.get(u)!) {
        readBefore++;
        expect(mails).toHaveLength(0);
      }
    }
    // Both sides of the deadline were exercised: reads before it, and sends that won against a later read.
    expect(readBefore).toBeGreaterThan(50);
    expect(mailed).toBeGreaterThan(0);
    await stop();
  }, 60_000);
});
