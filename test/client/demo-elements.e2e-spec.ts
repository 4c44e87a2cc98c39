import { NotificationService } from 'nestjs-inbox';
import { type DemoRig, logIn, startDemo, WAIT } from '../support/demo-browser';

/** The demo's /elements page: the same inbox as the drop-in elements, under the demo's strict CSP. */
describe('demo in Chromium: the drop-in elements page', () => {
  let rig: DemoRig;

  beforeAll(async () => {
    rig = await startDemo();
  }, 45000);
  afterAll(() => rig?.close());

  it('shows the signed-in user a notification live in the bell and the feed, and marks it read', async () => {
    const page = await rig.browser.newPage();
    await page.addInitScript(() => {
      (window as any).violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as any).violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(rig.origin);
    await logIn(page, 'elena');
    await page.goto(`${rig.origin}/elements`);
    await page.waitForFunction(() => document.querySelector('inbox-bell')?.client?.state === 'connected', undefined, WAIT);
    await rig.app.get(NotificationService).notify('elena', { type: 'private-message', title: 'Hi from the demo', actor: { name: 'Sam' } });
    await page.locator('inbox-bell button.bell[aria-label="Notifications, 1 unseen"]').waitFor(WAIT);
    const item = page.locator('main inbox-feed article.item.unread', { hasText: 'Hi from the demo' });
    await item.locator('button[aria-label="Mark as read"]').click();
    await page.locator('main inbox-feed article.item:not(.unread)', { hasText: 'Hi from the demo' }).waitFor(WAIT);
    await page.locator('main inbox-feed [role=tab][data-view=unread]:not(:has(.count))').waitFor(WAIT);
    // The bell's feed shows another tab; the page's feed keeps its own view (a client each).
    await page.locator('inbox-bell button.bell').click();
    await page.locator('inbox-bell [role=tab][data-view=archived]').click();
    await page.locator('inbox-bell [role=tab][data-view=archived][aria-selected=true]').waitFor(WAIT);
    await page.keyboard.press('Escape');
    await page.locator('main inbox-feed article.item', { hasText: 'Hi from the demo' }).waitFor(WAIT);
    await page.locator('inbox-preferences label[data-name=private-message] input:not([disabled])').waitFor(WAIT);
    expect(await page.evaluate(() => (window as any).violations)).toEqual([]);
    await page.close();
  });
});
