import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import webpush from 'web-push';
import { WAIT } from '../support/demo-browser';
import { type ElementsRig, startElementsRig } from '../support/elements-rig';

/**
 * `<inbox-preferences>` against a server with e-mail and Web Push: the channels it sends on,
 * a channel and a kind on it muted, quiet hours in the browser's time zone, the host's `mutable`
 * refusal said by name, Web Push on this browser, in four languages, accessible.
 */
const PAGE = (inbox: string, lang = 'en') => `<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><title>Settings</title><script src="/inbox-elements.js"></script></head>
<body><main><h1>Settings</h1>
  <inbox-preferences url="${inbox}" service-worker="/inbox-sw.js"
    types='{"comment":"Comments","system":"System notices"}'></inbox-preferences>
</main></body></html>`;

const WORKER = readFileSync(join(__dirname, '../../libs/nestjs-inbox/src/client/inbox-sw.js'), 'utf8');

describe('<inbox-preferences> with channels', () => {
  let rig: ElementsRig;
  let context: BrowserContext;

  beforeAll(async () => {
    const vapid = { subject: 'mailto:ops@acme.example', ...webpush.generateVAPIDKeys() };
    rig = await startElementsRig({
      mutable: (type) => type !== 'system',
      channels: {
        // Sends are planned an hour out: nothing here is sent, the settings are what is tested.
        email: { transport: { sendMail: async () => ({}) }, from: 'Acme <no-reply@acme.example>', address: () => null, after: 3_600_000 },
        webPush: { vapid, after: 3_600_000 },
      },
    });
    writeFileSync(join(rig.site, 'index.html'), PAGE(rig.app.url));
    writeFileSync(join(rig.site, 'de.html'), PAGE(rig.app.url, 'de'));
    writeFileSync(join(rig.site, 'inbox-sw.js'), WORKER);
  });
  afterAll(() => rig?.close());
  afterEach(() => context?.close());

  async function open(userId: string, path = '/', timezoneId?: string): Promise<Page> {
    context = await rig.signIn(userId, { timezoneId });
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${rig.origin}${path}`);
    await page.locator('inbox-preferences [data-key=email] input:not([disabled])').waitFor(WAIT);
    return page;
  }

  const control = (page: Page, key: string) => page.locator(`inbox-preferences [data-key="${key}"] :is(input, select)`);
  /** The change just made is answered (the form is busy until then) and stored. */
  const saved = async (page: Page) => {
    await page.locator('inbox-preferences form[aria-busy=false]').waitFor(WAIT);
    expect(await page.locator('inbox-preferences .status').getAttribute('data-kind')).toBe('saved');
  };

  it('shows the channels the server sends on, mutes a channel and a kind on it, and says what the server refuses', async () => {
    const page = await open('ch-user');
    const prefs = () => rig.app.service.getPreferences('ch-user');
    expect(await page.locator('inbox-preferences fieldset legend').allTextContents()).toEqual([
      'Kinds',
      'E-mail',
      'Push notifications',
      'Quiet hours',
    ]);

    await control(page, 'email').uncheck();
    await saved(page);
    expect((await prefs()).channels.email).toEqual({ muted: true, types: [] });
    // The kinds of a channel that is off wait for it.
    expect(await control(page, 'email:comment').isDisabled()).toBe(true);
    await control(page, 'email').check();
    await saved(page);
    await control(page, 'webPush:comment').uncheck();
    await saved(page);
    expect((await prefs()).channels).toEqual({ email: { muted: false, types: [] }, webPush: { muted: false, types: ['comment'] } });
    expect(await control(page, 'email:comment').isChecked()).toBe(true);

    // The host's `mutable` refuses 'system': said by name, with the server's words; the switch stays on.
    await control(page, 'webPush:system').uncheck();
    const status = page.locator('inbox-preferences .status[data-kind=error]');
    await status.waitFor(WAIT);
    expect(await status.textContent()).toBe(
      "“System notices (Push notifications)” cannot be turned off FORBIDDEN: preferences: channels.webPush.types: 'system' may not be muted",
    );
    expect(await control(page, 'webPush:system').isChecked()).toBe(true);
    expect((await prefs()).channels.webPush).toEqual({ muted: false, types: ['comment'] });
    await page.reload();
    await control(page, 'webPush:comment').and(page.locator(':not(:checked):not([disabled])')).waitFor(WAIT);
  });

  it('sets quiet hours in the browser’s time zone, or another; accessible, in Arabic and dark too', async () => {
    const page = await open('quiet-user', '/', 'Asia/Tokyo');
    const prefs = () => rig.app.service.getPreferences('quiet-user');
    // Quiet hours: in the browser's time zone unless chosen otherwise.
    expect(await control(page, 'quiet-timeZone').inputValue()).toBe('Asia/Tokyo');
    await control(page, 'quiet').check();
    await saved(page);
    expect((await prefs()).quietHours).toEqual({ start: '22:00', end: '07:00', timeZone: 'Asia/Tokyo' });
    await control(page, 'quiet-start').fill('21:30');
    await saved(page);
    // Focus stays on the control that changed, through the redraw.
    expect(
      await page.evaluate(() =>
        document.querySelector('inbox-preferences')!.shadowRoot!.activeElement?.closest('[data-key]')?.getAttribute('data-key'),
      ),
    ).toBe('quiet-start');
    await control(page, 'quiet-timeZone').selectOption('Europe/Berlin');
    await saved(page);
    expect((await prefs()).quietHours).toEqual({ start: '21:30', end: '07:00', timeZone: 'Europe/Berlin' });
    // A time cleared: the server's refusal, by name, in the user's words and the server's.
    await control(page, 'quiet-start').fill('');
    const status = page.locator('inbox-preferences .status[data-kind=error]');
    await status.waitFor(WAIT);
    expect(await status.textContent()).toBe(
      "“Quiet hours” was not accepted INVALID_INPUT: preferences: quietHours.start: must be a time 'HH:MM' (00:00 to 23:59)",
    );
    expect((await prefs()).quietHours).toEqual({ start: '21:30', end: '07:00', timeZone: 'Europe/Berlin' });
    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const serious = () =>
      page.evaluate(async () => {
        const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
        return result.violations
          .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
          .map((v: any) => `${v.id}: ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`) as string[];
      });
    expect(await serious()).toEqual([]);
    await control(page, 'quiet').uncheck();
    await saved(page);
    expect((await prefs()).quietHours).toBeNull();

    // What is stored is what a new page shows.
    await page.reload();
    await control(page, 'quiet').and(page.locator(':not(:checked):not([disabled])')).waitFor(WAIT);
    // Quiet hours ended: nothing stored, the inputs offer the defaults again.
    expect(await control(page, 'quiet-start').inputValue()).toBe('22:00');

    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    expect(await serious()).toEqual([]);
    // Arabic, right to left; and dark.
    await page.evaluate(() => {
      const el = document.querySelector('inbox-preferences')!;
      el.setAttribute('lang', 'ar');
      el.setAttribute('theme', 'dark');
    });
    await page.locator('inbox-preferences form[dir=rtl] legend', { hasText: 'البريد الإلكتروني' }).waitFor(WAIT);
    expect(await page.locator('inbox-preferences [data-key=quiet] span').textContent()).toBe('تأجيل الرسائل والإشعارات خلال هذه الساعات');
    expect(await serious()).toEqual([]);
  });

  it('speaks German and Chinese too', async () => {
    const page = await open('de-user', '/de.html');
    expect(await page.locator('inbox-preferences fieldset legend').allTextContents()).toEqual([
      'Arten',
      'E-Mail',
      'Push-Benachrichtigungen',
      'Ruhezeiten',
    ]);
    await page.evaluate(() => document.querySelector('inbox-preferences')!.setAttribute('lang', 'zh'));
    await page.locator('inbox-preferences legend', { hasText: '免打扰时段' }).waitFor(WAIT);
    expect(await page.locator('inbox-preferences [data-key=push-here] span').textContent()).toBe('在此浏览器上');
  });

  it('turns Web Push on and off for this browser, and says why when the browser cannot', async () => {
    // Headless Chromium has no push service: subscribing fails, and the switch says so.
    let page = await open('push-user');
    await context.grantPermissions(['notifications'], { origin: rig.origin });
    await control(page, 'push-here').and(page.locator(':not([disabled])')).waitFor(WAIT);
    await control(page, 'push-here').check();
    const status = page.locator('inbox-preferences .status[data-kind=error]');
    await status.waitFor(WAIT);
    expect(await status.textContent()).toMatch(/^That did not work, please try again \w+Error: .+/);
    expect(await control(page, 'push-here').isChecked()).toBe(false);
    await context.close();

    // With the browser's push service stood in for (the one part a headless browser lacks), the
    // subscription goes to the server, over `push:key` and `push:subscribe`, and comes back off.
    const p256dh = webpush.generateVAPIDKeys().publicKey;
    const auth = randomBytes(16).toString('base64url');
    context = await rig.signIn('push-user');
    await context.grantPermissions(['notifications'], { origin: rig.origin });
    await context.addInitScript(
      ({ p256dh, auth }) => {
        const endpoint = 'https://push.example/send/push-user';
        const subscription = () =>
          localStorage.getItem('fake-push') && {
            endpoint,
            expirationTime: null,
            toJSON: () => ({ endpoint, expirationTime: null, keys: { p256dh, auth } }),
            unsubscribe: async () => (localStorage.removeItem('fake-push'), true),
          };
        PushManager.prototype.getSubscription = async function () {
          return (subscription() || null) as PushSubscription | null;
        };
        PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
          if (!options?.applicationServerKey) throw new Error('no applicationServerKey');
          localStorage.setItem('fake-push', '1');
          return subscription() as unknown as PushSubscription;
        };
      },
      { p256dh, auth },
    );
    page = await context.newPage();
    await page.goto(`${rig.origin}/`);
    const endpoints = async () =>
      (await rig.app.dataSource.query(`SELECT endpoint FROM inbox_push_subscription WHERE user_id = 'push-user'`)).map(
        (r: { endpoint: string }) => r.endpoint,
      );
    await control(page, 'push-here').and(page.locator(':not([disabled]):not(:checked)')).waitFor(WAIT);
    await control(page, 'push-here').check();
    await saved(page);
    expect(await endpoints()).toEqual(['https://push.example/send/push-user']);
    await page.reload();
    await control(page, 'push-here').and(page.locator(':checked:not([disabled])')).waitFor(WAIT);
    await control(page, 'push-here').uncheck();
    await saved(page);
    expect(await endpoints()).toEqual([]);
    expect(await control(page, 'push-here').isChecked()).toBe(false);
  });
});
