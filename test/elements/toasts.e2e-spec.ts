import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { WAIT } from '../support/demo-browser';
import { type ElementsRig, startElementsRig } from '../support/elements-rig';

/**
 * `<inbox-toasts>` against the server: what arrives live shows briefly (not the catch-up), as
 * text, in a polite live region; dismissable; at most `max`; still under reduced motion.
 */
const PAGE = (inbox: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Toasts</title><script src="/inbox-elements.js"></script></head>
<body>
  <header><inbox-bell url="${inbox}"></inbox-bell></header>
  <main><h1>Toasts</h1></main>
  <inbox-toasts url="${inbox}" duration="60000" max="2"></inbox-toasts>
</body></html>`;

describe('<inbox-toasts> against the server', () => {
  let rig: ElementsRig;
  let context: BrowserContext;

  beforeAll(async () => {
    rig = await startElementsRig();
    writeFileSync(join(rig.site, 'index.html'), PAGE(rig.app.url));
  });
  afterAll(() => rig?.close());
  afterEach(() => context?.close());

  async function open(userId: string): Promise<Page> {
    context = await rig.signIn(userId);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${rig.origin}/`);
    await page.waitForFunction(() => document.querySelector('inbox-toasts')?.client?.state === 'connected', undefined, WAIT);
    return page;
  }

  const toasts = (page: Page) => page.locator('inbox-toasts [aria-live=polite] .toast');

  it('shows what arrives live as text, not the catch-up, in a polite live region the bell then leaves quiet', async () => {
    const { service } = rig.app;
    await service.notify('toast-user', { type: 'comment', title: 'Already there' });
    const page = await open('toast-user');
    // Caught up (the badge counts it) without a toast for it.
    await page.locator('inbox-bell button.bell[aria-label="Notifications, 1 unseen"]').waitFor(WAIT);
    expect(await toasts(page).count()).toBe(0);

    await service.notify('toast-user', { type: 'comment', title: 'Ada <b>replied</b>', body: '<img src=x onerror="window.owned=1">' });
    const toast = toasts(page).filter({ hasText: 'Ada <b>replied</b>' });
    await toast.waitFor(WAIT);
    expect(await toast.locator('.body').textContent()).toBe('<img src=x onerror="window.owned=1">');
    expect(await page.locator('inbox-toasts b, inbox-toasts img').count()).toBe(0);
    // The toast says it; the bell (same client) keeps its own live region quiet.
    // (The bell announces in an animation frame: two frames later it would have.)
    await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
    expect(await page.locator('inbox-bell [aria-live=polite]').allTextContents()).toEqual(['', '']);

    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const violations = await page.evaluate(async () => {
      const result = await (window as any).axe.run(document, { resultTypes: ['violations'] });
      return result.violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical').map((v: any) => v.id);
    });
    expect(violations).toEqual([]);

    expect(await page.evaluate(() => (window as any).owned)).toBeUndefined();
  });

  it('shows at most `max`, the oldest going first; each dismissable', async () => {
    const { service } = rig.app;
    const page = await open('max-user');
    await service.notify('max-user', { type: 'comment', title: 'First' });
    const toast = toasts(page).filter({ hasText: 'First' });
    await toast.waitFor(WAIT);
    // Two at most: a third pushes out the oldest.
    await service.notify('max-user', { type: 'comment', title: 'Second' });
    await service.notify('max-user', { type: 'comment', title: 'Third' });
    await toasts(page).filter({ hasText: 'Third' }).waitFor(WAIT);
    await toast.waitFor({ state: 'detached', ...WAIT });
    expect(await toasts(page).locator('.title').allTextContents()).toEqual(['Second', 'Third']);

    await toasts(page).filter({ hasText: 'Second' }).locator('button[aria-label=Dismiss]').click();
    await toasts(page)
      .filter({ hasText: 'Second' })
      .waitFor({ state: 'detached', ...WAIT });
    expect(await toasts(page).locator('.title').allTextContents()).toEqual(['Third']);
  });

  it('goes by itself after `duration`, held while the pointer is on it; no motion when reduced motion is asked', async () => {
    const page = await open('short-user');
    const toastsElement = (duration: string) =>
      page.evaluate((d) => document.querySelector('inbox-toasts')!.setAttribute('duration', d), duration);
    await page.emulateMedia({ reducedMotion: 'reduce' });
    await rig.app.service.notify('short-user', { type: 'comment', title: 'Brief' });
    const toast = toasts(page).filter({ hasText: 'Brief' });
    await toast.waitFor(WAIT);
    expect(await toast.evaluate((t) => getComputedStyle(t).animationName)).toBe('none');
    // Held while hovered: still there at twice its duration (a timer running late under load
    // could only hide a failure here, never make one); it goes once the pointer leaves.
    await toast.hover();
    await toastsElement('800');
    await page.waitForTimeout(1600);
    expect(await toast.count()).toBe(1);
    await page.mouse.move(0, 0);
    await toast.waitFor({ state: 'detached', ...WAIT });

    await toastsElement('60000');
    await page.emulateMedia({ reducedMotion: 'no-preference' });
    await rig.app.service.notify('short-user', { type: 'comment', title: 'Moving' });
    const moving = toasts(page).filter({ hasText: 'Moving' });
    await moving.waitFor(WAIT);
    expect(await moving.evaluate((t) => getComputedStyle(t).animationName)).toBe('inbox-toast-in');
  });
});
