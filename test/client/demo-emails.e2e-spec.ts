import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NotificationService } from 'nestjs-inbox';
import { MailCatcher } from '../../src/channels/mail-catcher';
import { badge, type DemoRig, item, logIn, onClient, openInbox, startDemo, WAIT } from '../support/demo-browser';
import { until } from '../support/smtp';

const ARTIFACTS = join(__dirname, '..', 'artifacts');
const MARKUP = '<img src=x onerror="window.__xss=1"><b>bold?</b>';
/** The e-mail delay of these tests: long enough to open the bell first on a loaded machine, short enough to wait for. */
const AFTER_MS = 5000;

/**
 * The demo's channels (issue 24): its own SMTP catcher receives what the e-mail channel sends
 * for a notification still unseen after the delay, and the e-mail log page shows it as text
 * (its HTML part in a sandboxed frame); the service worker and the VAPID key for Web Push are
 * served. Every wait is for a state; none sleeps.
 */
describe('demo channels in Chromium: the e-mail log and Web Push', () => {
  let rig: DemoRig;

  beforeAll(async () => {
    rig = await startDemo({ DEMO_EMAIL_AFTER_MS: String(AFTER_MS) });
  }, 45000);
  afterAll(() => rig?.close());

  const mailsTo = (userId: string) => rig.app.get(MailCatcher).mails.filter((m) => m.to.includes(`${userId}@demo.example`));

  it('shows a notification live, as text; unseen after the delay it is e-mailed, and the e-mail log shows it, as text', async () => {
    const context = await rig.browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    await page.addInitScript(() => {
      (window as any).violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as any).violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(rig.origin);
    await logIn(page, 'mail-ann');
    await rig.app.get(NotificationService).notify('mail-ann', {
      scope: 'acme',
      type: 'private-message',
      title: `Hi ${MARKUP}`,
      body: MARKUP,
      actor: { name: '<i>eve</i>' },
      actions: [{ label: '<u>go</u>', event: 'go' }],
    });

    // Live in the bell's feed (its popover left closed: unseen), every string as text.
    await badge(page, 1);
    const row = item(page, 'bold?');
    await row.waitFor({ state: 'attached', ...WAIT });
    expect(await row.locator('.title').textContent()).toBe(`Hi ${MARKUP}`);
    expect(await row.locator('.body').textContent()).toBe(MARKUP);
    expect(await row.locator('button[part~="action"]').textContent()).toBe('<u>go</u>');
    expect(await page.locator('inbox-bell article.item :is(img:not(.avatar), b, i, u)').count()).toBe(0);

    // Still unseen after the delay: e-mailed to the demo's catcher.
    await until('the e-mail reaches the catcher', () => mailsTo('mail-ann').length === 1, 20_000);
    expect(mailsTo('mail-ann')[0].subject).toBe(`Hi ${MARKUP}`);

    // The main page links to the e-mail log, which lists it: subject, to, time and text as text.
    await page.click('.topbar a[href="/emails"]');
    await page.waitForURL(`${rig.origin}/emails`, WAIT);
    const mail = page.locator('li.mail', { hasText: 'mail-ann@demo.example' });
    await mail.waitFor(WAIT);
    expect(await mail.locator('.subject').textContent()).toBe(`Hi ${MARKUP}`);
    expect(await mail.locator('.text').textContent()).toContain(MARKUP);
    expect(await mail.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await page.locator('main :is(img, b, i, u)').count()).toBe(0);

    // Its HTML part: in a frame with an empty sandbox (no scripts, an opaque origin), the strings escaped.
    await mail.locator('summary').click();
    const frameElement = mail.locator('iframe');
    expect(await frameElement.getAttribute('sandbox')).toBe('');
    const frame = await (await frameElement.elementHandle())!.contentFrame();
    await frame!.locator('h2').waitFor(WAIT);
    expect(await frame!.locator('h2').textContent()).toBe(`Hi ${MARKUP}`);
    expect(await frame!.locator('img, b, i, u').count()).toBe(0);
    expect(await page.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    expect(await page.evaluate(() => (window as any).violations)).toEqual([]);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'email-log.png') });
    await context.close();
  }, 60000);

  it('sends no e-mail for what the user saw before the delay', async () => {
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await page.goto(rig.origin);
    await logIn(page, 'mail-cid');
    const service = rig.app.get(NotificationService);
    await service.notify('mail-cid', { scope: 'acme', type: 'private-message', title: 'Seen in time' });
    await badge(page, 1);
    await openInbox(page); // marks it seen: its e-mail is cancelled in the same transaction
    await badge(page, 0);
    // A later one left unseen: once its e-mail is there, the earlier one's was due before it.
    await page.keyboard.press('Escape');
    await service.notify('mail-cid', { scope: 'acme', type: 'private-message', title: 'Left unseen' });
    await until('the unseen one is e-mailed', () => mailsTo('mail-cid').length > 0, 20_000);
    expect(mailsTo('mail-cid').map((m) => m.subject)).toEqual(['Left unseen']);
    await context.close();
  }, 60000);

  it('serves the Web Push worker at /inbox-sw.js and answers the VAPID public key', async () => {
    const context = await rig.browser.newContext();
    const page = await context.newPage();
    await page.goto(rig.origin);
    await logIn(page, 'push-dan');
    const { publicKey } = await onClient<{ publicKey: string }>(page, `inbox.connection.request('push:key', {})`);
    // An uncompressed P-256 point, base64url: 65 bytes.
    expect(Buffer.from(publicKey, 'base64url')).toHaveLength(65);
    const worker = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.register('/inbox-sw.js');
      await navigator.serviceWorker.ready;
      return { scope: registration.scope, script: registration.active?.scriptURL };
    });
    expect(worker).toEqual({ scope: `${rig.origin}/`, script: `${rig.origin}/inbox-sw.js` });
    // The preferences card offers both channels the demo configures, and the push switch of this browser.
    for (const key of ['email', 'webPush', 'push-here']) await page.locator(`inbox-preferences [data-key="${key}"] input`).waitFor(WAIT);
    await context.close();
  }, 45000);
});
