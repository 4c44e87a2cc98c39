import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { WAIT } from '../support/demo-browser';
import { type ElementsRig, showsReadsAndActs, startElementsRig } from '../support/elements-rig';

/**
 * The elements on a plain page: a PHP template with one `<script>` tag (the script-tag bundle),
 * served by `php -S`, talking to the Nest app on another port. Also where accessibility is
 * checked (axe-core in Chromium), and the docs' screenshots are taken.
 */
const TEMPLATE = `<?php $inbox = htmlspecialchars(getenv('INBOX_URL') ?: '', ENT_QUOTES); $lang = ($_GET['lang'] ?? 'en') === 'ar' ? 'ar' : 'en'; ?>
<!doctype html>
<html lang="<?= $lang ?>" dir="<?= $lang === 'ar' ? 'rtl' : 'ltr' ?>">
<head><meta charset="utf-8"><title>Site</title><script src="/inbox-elements.js"></script></head>
<body>
  <header style="display:flex;justify-content:flex-end;padding:8px">
    <nav aria-label="Account"><inbox-bell url="<?= $inbox ?>"></inbox-bell></nav>
  </header>
  <main>
    <h1>Site</h1>
    <p id="heard"></p>
    <inbox-preferences url="<?= $inbox ?>" types='{"comment":"Comments","mention":"Mentions"}'></inbox-preferences>
  </main>
  <script>
    document.addEventListener('inbox-action', (e) => {
      document.getElementById('heard').textContent = e.detail.action.event + ' ' + e.detail.notification.title;
    });
  </script>
</body>
</html>
`;

/** A site with a strict Content-Security-Policy: no inline script or style at all. */
const STRICT_CSP = `<?php $inbox = getenv('INBOX_URL'); $ws = preg_replace('/^http/', 'ws', $inbox);
header("Content-Security-Policy: default-src 'self'; connect-src 'self' $inbox $ws; object-src 'none'; base-uri 'none'"); ?>
<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strict</title><script src="/inbox-elements.js"></script></head>
<body><header><inbox-bell url="<?= htmlspecialchars($inbox, ENT_QUOTES) ?>">
  <inbox-tab name="all"></inbox-tab><inbox-tab name="comments" label="Comments" filter='{"type":"comment"}'></inbox-tab>
</inbox-bell></header><main><h1>Strict</h1></main></body></html>
`;

const SCREENSHOTS = process.env.INBOX_UPDATE_SCREENSHOT ? join(__dirname, '..', '..', 'docs') : join(__dirname, '..', 'artifacts');

describe('drop-in elements on a plain page (PHP)', () => {
  let rig: ElementsRig;
  let context: BrowserContext;

  beforeAll(async () => {
    rig = await startElementsRig();
    writeFileSync(join(rig.site, 'index.php'), TEMPLATE);
    writeFileSync(join(rig.site, 'csp.php'), STRICT_CSP);
  });
  afterAll(() => rig?.close());
  afterEach(() => context?.close());

  /** axe-core's serious and critical violations on the page, shadow roots included. */
  const serious = async () => {
    const axe = (window as any).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations
      .filter((v: any) => v.impact === 'serious' || v.impact === 'critical')
      .map((v: any) => `${v.id} (${v.impact}): ${v.nodes.map((n: any) => n.target.join(' ')).join(', ')}`) as string[];
  };

  async function open(userId: string, path = '/'): Promise<Page> {
    context = await rig.signIn(userId);
    const page = await context.newPage();
    page.on('pageerror', (err) => console.error('page error:', err));
    await page.goto(`${rig.origin}${path}`);
    await page.waitForFunction(() => document.querySelector('inbox-bell')?.client?.state === 'connected', undefined, WAIT);
    return page;
  }

  it('shows a notification live, marks it read, and the page hears inbox-action', async () => {
    const page = await open('php-user');
    await showsReadsAndActs(page, rig.app, 'php-user', 'Hello from PHP');
  });

  /** Where the focus is, through the shadow roots: the innermost active element's tag and class. */
  const focused = (page: Page) =>
    page.evaluate(() => {
      let el: Element | null = document.activeElement;
      while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
      return `${el?.tagName.toLowerCase()}.${el?.className}`;
    });

  /** Three notifications, one read, in the host's words (the screenshots show them in each language). */
  async function seed(userId: string, lang: 'en' | 'ar' = 'en') {
    const { service } = rig.app;
    const words = {
      en: [
        'Your export is ready',
        'Grace mentioned you',
        'in #releases',
        'Ada commented on your post',
        'Looks good to me, ship it.',
        'Reply',
        'View',
      ],
      ar: ['التصدير جاهز', 'ذكرتك غريس', 'في #الإصدارات', 'علّقت آدا على منشورك', 'يبدو جيدًا، لننشره.', 'رد', 'عرض'],
    }[lang];
    const [read] = await service.notify(userId, { type: 'system', title: words[0], url: '/exports/7' });
    await service.notify(userId, { type: 'mention', title: words[1], body: words[2], actor: { name: 'Grace' } });
    await service.notify(userId, {
      type: 'comment',
      title: words[3],
      body: words[4],
      actor: { name: 'Ada' },
      actions: [
        { label: words[5], event: 'reply' },
        { label: words[6], url: '/posts/1' },
      ],
    });
    await service.markRead(userId, [read.id]);
  }

  it('is accessible: a named bell, a dialog that traps and returns focus, a keyboard list, a polite live region, no serious axe violation', async () => {
    await seed('a11y-user');
    const page = await open('a11y-user');
    const bell = page.locator('inbox-bell button.bell');
    await page.locator('inbox-bell button.bell[aria-label="Notifications, 2 unseen"]').waitFor(WAIT);

    // Announced politely while the popover is closed.
    await rig.app.service.notify('a11y-user', { type: 'comment', title: 'Live one' });
    await page.locator('inbox-bell [aria-live=polite]', { hasText: 'New notification: Live one' }).waitFor({ state: 'attached', ...WAIT });

    await bell.focus();
    await page.keyboard.press('Enter');
    await page.locator('inbox-bell dialog[open] article.item', { hasText: 'Live one' }).waitFor(WAIT);
    for (let i = 0; i < 25; i++) {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('INBOX-BELL');
      expect(await page.evaluate(() => !!document.querySelector('inbox-bell')!.shadowRoot!.activeElement?.closest('dialog'))).toBe(true);
    }

    // Arrow keys move between the items.
    await page.locator('inbox-bell article.item').first().focus();
    await page.keyboard.press('ArrowDown');
    expect(await focused(page)).toMatch(/^article\.item/);
    expect(
      await page.evaluate(() => {
        const feed = document.querySelector('inbox-bell')!.shadowRoot!.querySelector('inbox-feed')!;
        return feed.shadowRoot!.activeElement?.getAttribute('aria-posinset');
      }),
    ).toBe('2');

    await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') });
    const violations = await page.evaluate(serious);
    expect(violations).toEqual([]);
    // The dark theme too (contrast).
    await page.evaluate(() => document.querySelector('inbox-bell')!.setAttribute('theme', 'dark'));
    await page.locator('inbox-bell inbox-feed[theme=dark]').waitFor({ state: 'attached', ...WAIT });
    expect(await page.evaluate(serious)).toEqual([]);

    await page.keyboard.press('Escape');
    await page.locator('inbox-bell dialog[open]').waitFor({ state: 'detached', ...WAIT });
    expect(await focused(page)).toMatch(/^button\.bell/);
    await page.locator('inbox-bell button.bell[aria-label="Notifications"]').waitFor(WAIT);
  });

  it("lays Arabic out right to left, and takes the docs' screenshots in English and Arabic", async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    for (const lang of ['en', 'ar'] as const) {
      await seed(`shot-${lang}`, lang);
      const page = await open(`shot-${lang}`, `/?lang=${lang}`);
      await page.setViewportSize({ width: 760, height: 560 });
      await page.locator('inbox-bell button.bell').click();
      await page.locator('inbox-bell dialog[open] article.item').nth(2).waitFor(WAIT);
      const direction = await page.evaluate(() => {
        const feed = document.querySelector('inbox-bell')!.shadowRoot!.querySelector('inbox-feed')!;
        return getComputedStyle(feed.shadowRoot!.querySelector('.feed')!).direction;
      });
      expect(direction).toBe(lang === 'ar' ? 'rtl' : 'ltr');
      // The popover opens under the bell, which sits on the start side of the header.
      const [bell, popover] = await Promise.all(
        ['inbox-bell button.bell', 'inbox-bell dialog'].map(async (s) => (await page.locator(s).boundingBox())!),
      );
      if (lang === 'ar') expect(Math.abs(popover.x - bell.x)).toBeLessThan(16);
      else expect(Math.abs(popover.x + popover.width - (bell.x + bell.width))).toBeLessThan(16);
      await page.locator('inbox-bell [role=tab]', { hasText: lang === 'ar' ? 'الكل' : 'All' }).waitFor(WAIT);
      // Flush the relative times ("now") and the focus ring out of the picture.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.screenshot({ path: join(SCREENSHOTS, `elements-feed-${lang}.png`) });
      await context.close();
    }
  });

  it('<inbox-preferences> mutes a kind for the user, as the server stores it', async () => {
    const page = await open('prefs-user');
    const mentions = page.locator('inbox-preferences label[data-name=mention] input');
    await page.locator('inbox-preferences input:not([disabled])').first().waitFor(WAIT);
    expect(await mentions.isChecked()).toBe(true);
    // This server sends on no channel: no channel, no quiet hours.
    expect(await page.locator('inbox-preferences fieldset legend').allTextContents()).toEqual(['Kinds']);
    await mentions.uncheck();
    await page.locator('inbox-preferences .status', { hasText: 'Saved' }).waitFor(WAIT);
    expect((await rig.app.service.getPreferences('prefs-user')).muted.types).toEqual(['mention']);
    await page.reload();
    await page.locator('inbox-preferences label[data-name=mention] input:not([disabled]):not(:checked)').waitFor(WAIT);
  });

  it('works under a strict Content-Security-Policy (a constructed stylesheet, no inline style), with <inbox-tab> children', async () => {
    context = await rig.signIn('csp-user');
    const page = await context.newPage();
    await page.addInitScript(() => {
      (window as any).violations = [];
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as any).violations.push(`${e.violatedDirective} ${e.blockedURI}`),
      );
    });
    await page.goto(`${rig.origin}/csp.php`);
    await page.waitForFunction(() => document.querySelector('inbox-bell')?.client?.state === 'connected', undefined, WAIT);
    await rig.app.service.notify('csp-user', { type: 'comment', title: 'Strict hello' });
    await page.locator('inbox-bell .badge:not([hidden])').waitFor(WAIT);
    expect(await page.locator('inbox-bell .badge').evaluate((b) => getComputedStyle(b).position)).toBe('absolute');
    await page.locator('inbox-bell button.bell').click();
    await page.locator('inbox-bell dialog[open] article.item', { hasText: 'Strict hello' }).waitFor(WAIT);
    // The bell's <inbox-tab> children (parsed after it connected) are its feed's tabs.
    await page.locator('inbox-bell [role=tab][data-view=comments] .count', { hasText: /^1$/ }).waitFor(WAIT);
    expect(await page.locator('inbox-bell [role=tab]').allTextContents()).toEqual(['All1', 'Comments1']);
    expect(await page.evaluate(() => (window as any).violations)).toEqual([]);
  });
});
