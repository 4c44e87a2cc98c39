import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { NotificationService } from 'nestjs-inbox';
import type { Browser, Page } from 'playwright-core';
import { badge, closeInbox, type DemoRig, item, live, logIn, openInbox, sendMessage, startDemo, WAIT } from '../support/demo-browser';

/** The demo page (its inbox is the drop-in elements) in a real Chromium against the real demo app; screenshots go to test/artifacts. */
const ARTIFACTS = join(__dirname, '..', 'artifacts');

async function shot(page: Page, name: string) {
  await page.bringToFront();
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
}

/** The titles in the bell's feed, top to bottom. */
const titles = (page: Page) => page.locator('inbox-bell article.item .title').allTextContents();

describe('demo page in Chromium', () => {
  let rig: DemoRig;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    rig = await startDemo();
    ({ browser, origin } = rig);
  }, 45000);
  afterAll(() => rig?.close());

  it('delivers live across users and tabs, keeps tabs in step, catches up after login, renders text only', async () => {
    const alice = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const bob = await browser.newContext({ viewport: { width: 1200, height: 760 } });
    const [a1, a2, b1] = [await alice.newPage(), await alice.newPage(), await bob.newPage()];
    for (const page of [a1, b1]) await page.goto(origin);
    await logIn(a1, 'alice');
    await logIn(b1, 'bob');
    await a2.goto(origin); // the same session cookie: signed in at once
    await live(a2);

    // Appears without a reload, in both of alice's tabs.
    await sendMessage(b1, 'alice', 'Lunch at noon?');
    await badge(a1, 1);
    await badge(a2, 1);
    await a1.locator('inbox-toasts').getByText('Lunch at noon?').waitFor(WAIT);
    await openInbox(a1);
    await item(a1, 'Lunch at noon?').and(a1.locator('.unread')).waitFor(WAIT);
    await shot(a1, 'alice-inbox-open');

    // Opening the bell marked it seen: the badge went in both tabs; read in one tab, the other follows.
    await badge(a1, 0);
    await badge(a2, 0);
    await item(a1, 'Lunch at noon?').locator('.title').click();
    await a1.locator('inbox-bell article.item.unread').waitFor({ state: 'detached', ...WAIT });
    await a2.locator('inbox-bell article.item:not(.unread)', { hasText: 'Lunch at noon?' }).waitFor({ state: 'attached', ...WAIT });
    await closeInbox(a1);

    // Bob is logged out when alice writes; he sees it once he logs in.
    await b1.click('#logout');
    await b1.locator('#login-view').waitFor({ state: 'visible', ...WAIT });
    expect(await b1.locator('inbox-bell, inbox-preferences').count()).toBe(0);
    await sendMessage(a1, 'bob', 'Sent while you were away');
    await logIn(b1, 'bob');
    await badge(b1, 1);
    await openInbox(b1);
    await item(b1, 'Sent while you were away').waitFor(WAIT);
    await badge(b1, 0); // seen
    await shot(b1, 'bob-after-login');
    await closeInbox(b1);

    // Markup in a notification is shown as text.
    const markup = '<img src=x onerror="window.__xss=1"><b>bold?</b>';
    await sendMessage(a1, 'bob', markup);
    await badge(b1, 1); // the first one was seen when bob opened the inbox
    const body = item(b1, 'bold?').locator('.body');
    await body.waitFor({ state: 'attached', ...WAIT });
    expect(await body.textContent()).toBe(markup);
    // The only images are the avatars the elements put there.
    expect(await b1.locator('inbox-bell article.item img:not(.avatar), inbox-bell article.item b').count()).toBe(0);
    expect(await b1.evaluate(() => (window as { __xss?: number }).__xss)).toBeUndefined();
    await openInbox(b1);
    await shot(b1, 'markup-as-text');

    // Mark all read, in the popover.
    await b1.locator('inbox-bell [part~="mark-all"]').click();
    await b1
      .locator('inbox-bell article.item.unread')
      .first()
      .waitFor({ state: 'detached', ...WAIT });
    await badge(b1, 0);

    await alice.close();
    await bob.close();
  }, 45000);

  it('delivers broadcasts to everyone and topic posts to subscribers', async () => {
    const carol = await browser.newContext();
    const dave = await browser.newContext();
    const [c, d] = [await carol.newPage(), await dave.newPage()];
    await c.goto(origin);
    await d.goto(origin);
    await logIn(c, 'carol');
    await logIn(d, 'dave');

    await d.fill('#subscribe-form [name=topic]', 'releases');
    await d.click('#subscribe-form button[type=submit]');
    await d.locator('#topics li', { hasText: '#releases' }).waitFor(WAIT);

    await c.fill('#publish-form [name=topic]', 'releases');
    await c.fill('#publish-form [name=title]', 'v2.0 is out');
    await c.click('#publish-form button[type=submit]');
    await badge(d, 1);
    await c.fill('#broadcast-form [name=title]', 'Maintenance tonight');
    await c.click('#broadcast-form button[type=submit]');
    await badge(c, 1);
    await badge(d, 2);
    await openInbox(d);
    expect(await titles(d)).toEqual(['Maintenance tonight', 'v2.0 is out']);
    await openInbox(c);
    expect(await titles(c)).toEqual(['Maintenance tonight']);
    await shot(d, 'topic-and-broadcast');

    await carol.close();
    await dave.close();
  }, 45000);

  it('pages older notifications as the list is scrolled', async () => {
    const service = rig.app.get(NotificationService);
    for (let i = 1; i <= 23; i++) await service.notify('erin', { type: 'reminder', title: `Reminder ${i}` });
    await service.markAllRead('erin'); // so the catch-up sends none and the list starts with one page
    const erin = await browser.newContext();
    const page = await erin.newPage();
    await page.goto(origin);
    await logIn(page, 'erin');
    await openInbox(page);
    await page.locator('inbox-bell article.item').nth(19).waitFor(WAIT);
    await page.locator('inbox-bell article.item').nth(19).scrollIntoViewIfNeeded();
    await page.locator('inbox-bell article.item').nth(22).waitFor(WAIT);
    // Broadcasts sent by earlier tests reach erin too; they are older than her reminders.
    expect((await titles(page)).slice(0, 23)).toEqual(Array.from({ length: 23 }, (_, i) => `Reminder ${23 - i}`));
    await erin.close();
  }, 45000);
});
