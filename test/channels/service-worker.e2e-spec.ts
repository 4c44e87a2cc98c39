import type { INestApplication } from '@nestjs/common';
import type { Request, Response } from 'express';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import webpush from 'web-push';
import { scriptTagBundle } from '../../libs/nestjs-inbox/scripts/build-client';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';
import { CHROMIUM, WAIT } from '../support/demo-browser';
import { until } from '../support/smtp';

const WORKER = readFileSync(join(__dirname, '../../libs/nestjs-inbox/src/client/inbox-sw.js'), 'utf8');

/** A page of the site: the script-tag client, connected as the `uid` cookie's user. */
const PAGE = `<!doctype html><html><body><script src="/inbox.js"></script>
<script>window.inbox = NestjsInbox.createInbox();</script></body></html>`;

describe('the shipped service worker in Chromium', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let browser: Browser;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    const bundle = await scriptTagBundle();
    const vapid = { subject: 'mailto:ops@acme.example', ...webpush.generateVAPIDKeys() };
    t = await startApp(
      db.url,
      // A long delay: the test pushes through the DevTools protocol, not through a push service.
      { channels: { webPush: { vapid, after: 3_600_000 } } },
      {},
      {
        configure: (app: INestApplication) => {
          const send = (type: string, body: string) => (_req: Request, res: Response) => res.type(type).send(body);
          app.use('/page', send('html', PAGE));
          app.use('/inbox.js', send('js', bundle));
          app.use('/inbox-sw.js', send('js', WORKER));
        },
      },
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await db?.drop();
  });

  it('shows a push as a notification and has the open page mark it seen over its socket', async () => {
    const origin = t.url;
    const context = await browser.newContext();
    try {
      await context.grantPermissions(['notifications'], { origin });
      await context.addCookies([{ name: 'uid', value: 'zoe', url: origin }]);
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      const registrations = new Map<string, string>();
      cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: regs }) => {
        for (const r of regs as { registrationId: string; scopeURL: string }[]) registrations.set(r.scopeURL, r.registrationId);
      });
      await cdp.send('ServiceWorker.enable');
      await page.goto(`${origin}/page`);
      await page.waitForFunction(() => (window as unknown as { inbox: { state: string } }).inbox.state === 'connected', undefined, WAIT);
      const [n] = await t.service.notify('zoe', { type: 'comment', title: 'Bob <b>replied</b>', body: 'hi', url: '/posts/1' });
      // enablePush registers the worker and listens to it; its subscribe needs a real push service
      // (none here), so it rejects after that: the push comes through the DevTools protocol.
      const enabled = await page.evaluate(() =>
        (window as unknown as { inbox: { enablePush(o: object): Promise<unknown> } }).inbox
          .enablePush({ serviceWorker: '/inbox-sw.js' })
          .then(
            () => 'subscribed',
            (err: Error) => err.message,
          ),
      );
      expect(typeof enabled).toBe('string');
      // Activated, not only active: `ready` resolves while the worker is still activating.
      await page.evaluate(async () => {
        const worker = (await navigator.serviceWorker.ready).active!;
        if (worker.state !== 'activated') {
          await new Promise<void>((resolve) => worker.addEventListener('statechange', () => worker.state === 'activated' && resolve()));
        }
      });
      await until('the worker is registered', () => registrations.has(`${origin}/`));
      // Polled inside the page: waitForFunction takes a returned promise as a truthy value at once
      // (it does not await it), which is how this read once raced the worker's showNotification.
      const showsWithin = (timeoutMs: number) =>
        page.evaluate(async (ms) => {
          const registration = await navigator.serviceWorker.ready;
          for (const deadline = Date.now() + ms; Date.now() < deadline;) {
            const ns = await registration.getNotifications();
            if (ns.length > 0) return ns.map((x) => ({ title: x.title, body: x.body, data: x.data as unknown }));
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
          return null;
        }, timeoutMs);
      // A push handed through the DevTools protocol to a worker the browser has just started was
      // once not shown (CI), and that path has no retry of its own: it is handed again, up to
      // three times. The notification's tag makes a second showing replace the first.
      let shown: unknown = null;
      for (let attempt = 0; attempt < 3 && shown === null; attempt++) {
        await cdp.send('ServiceWorker.deliverPushMessage', {
          origin,
          registrationId: registrations.get(`${origin}/`)!,
          data: JSON.stringify({ id: n.id, type: 'comment', title: 'Bob <b>replied</b>', body: 'hi', url: '/posts/1', scope: null }),
        });
        shown = await showsWithin(WAIT.timeout / 2);
      }
      expect(shown).toEqual([{ title: 'Bob <b>replied</b>', body: 'hi', data: { id: n.id, url: `${origin}/posts/1` } }]);
      await until('the page marked it seen', async () => (await t.service.badge('zoe')).unseen === 0);
      // Seen: its Web Push send (not yet due) is cancelled in the mark's transaction.
      const [send] = (await t.dataSource.query(`SELECT status FROM inbox_channel_send WHERE user_id = 'zoe'`)) as { status: string }[];
      expect(send.status).toBe('cancelled');
    } finally {
      await context.close();
    }
  });
});
