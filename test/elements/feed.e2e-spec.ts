import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { WAIT } from '../support/demo-browser';
import { type ElementsRig, startElementsRig } from '../support/elements-rig';

/**
 * `<inbox-feed>` on its own, against the real server: tabs and their live counts, archive,
 * delete, snooze, mark all read, infinite scroll, the offline state, text never markup, the
 * `inbox-open` event and a host's item template.
 */
const PAGE = (inbox: string) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Feed</title><script src="/inbox-elements.js"></script></head>
<body>
  <main>
    <h1>Feed</h1>
    <p id="opened"></p>
    <inbox-feed id="feed" url="${inbox}" style="height:420px;display:block"></inbox-feed>
    <inbox-feed id="custom" url="${inbox}" hidden>
      <inbox-tab name="all"></inbox-tab>
      <inbox-tab name="typed" label="Of type t" filter='{"type":"t"}'></inbox-tab>
      <template slot="item"><strong class="who" data-field="actor"></strong> <span data-field="title"></span></template>
    </inbox-feed>
  </main>
  <script>
    document.addEventListener('inbox-open', (e) => {
      e.preventDefault();
      document.getElementById('opened').textContent = e.detail.notification.title;
    });
  </script>
</body></html>`;

describe('<inbox-feed> against the server', () => {
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
    await page.waitForFunction(() => document.querySelector('inbox-feed')?.client?.state === 'connected', undefined, WAIT);
    return page;
  }

  const item = (page: Page, title: string) =>
    page.locator('#feed article.item').filter({ has: page.locator('.title', { hasText: new RegExp(`^${title}$`) }) });
  const tabCount = (page: Page, view: string, n: number) =>
    n === 0
      ? page.locator(`#feed [role=tab][data-view=${view}]:not(:has(.count))`).waitFor(WAIT)
      : page.locator(`#feed [role=tab][data-view=${view}] .count`, { hasText: new RegExp(`^${n}$`) }).waitFor(WAIT);

  it('keeps tab counts live and archives, restores, deletes, snoozes and marks all read', async () => {
    const { service } = rig.app;
    const page = await open('feed-user');
    await page.locator('#feed .status', { hasText: 'No notifications' }).waitFor(WAIT);
    for (const title of ['one', 'two', 'three', 'four']) await service.notify('feed-user', { type: 't', title });
    await item(page, 'four').waitFor(WAIT);
    await tabCounts();
    async function tabCounts() {
      await tabCount(page, 'all', 4);
      await tabCount(page, 'unread', 4);
    }

    await item(page, 'one').locator('button[aria-label=Archive]').click();
    await item(page, 'one').waitFor({ state: 'detached', ...WAIT });
    await tabCount(page, 'all', 3);
    await tabCount(page, 'archived', 1);
    await page.click('#feed [role=tab][data-view=archived]');
    await item(page, 'one').locator('button[aria-label="Move to inbox"]').click();
    await item(page, 'one').waitFor({ state: 'detached', ...WAIT });
    await tabCount(page, 'archived', 0);
    await page.click('#feed [role=tab][data-view=all]');
    await item(page, 'one').waitFor(WAIT);

    await item(page, 'two').locator('button[aria-label=Delete]').click();
    await item(page, 'two').waitFor({ state: 'detached', ...WAIT });
    await item(page, 'three').locator('select[part=snooze]').selectOption('hour');
    await item(page, 'three').waitFor({ state: 'detached', ...WAIT });
    await tabCount(page, 'all', 2);

    await page.click('#feed button[part=mark-all]');
    await tabCount(page, 'unread', 0);
    await page
      .locator('#feed article.item.unread')
      .first()
      .waitFor({ state: 'detached', ...WAIT });
    expect(await service.unreadCount('feed-user')).toBe(0);

    // Another language on the fly, and one registered by the page.
    await page.evaluate(() => document.getElementById('feed')!.setAttribute('lang', 'de'));
    await page.locator('#feed [role=tab][data-view=unread]', { hasText: 'Ungelesen' }).waitFor(WAIT);
    await page.evaluate(() => {
      (window as any).NestjsInboxElements.registerInboxMessages('fr', { unread: 'Non lus' });
      document.getElementById('feed')!.setAttribute('lang', 'fr');
    });
    await page.locator('#feed [role=tab][data-view=unread]', { hasText: 'Non lus' }).waitFor(WAIT);
    await page.locator('#feed [role=tab][data-view=all]', { hasText: 'All' }).waitFor(WAIT);
  });

  it('scrolls for older pages, renders text never markup, tells the host what was opened, and shows offline', async () => {
    const { service } = rig.app;
    for (let i = 1; i <= 45; i++)
      await service.notify('scroll-user', { type: 't', title: `n${i}`, body: i === 45 ? '<img src=x onerror="window.owned=1">' : null });
    const page = await open('scroll-user');
    await item(page, 'n45').waitFor(WAIT);
    expect(await item(page, 'n45').locator('.body').textContent()).toBe('<img src=x onerror="window.owned=1">');
    expect(await page.locator('#feed img').count()).toBe(0);
    // The first page is 20; scrolling to the end loads the rest.
    for (const last of ['n6', 'n1']) {
      await page.locator('#feed .scroller').evaluate((s) => s.scrollTo(0, s.scrollHeight));
      await item(page, last).waitFor({ state: 'attached', ...WAIT });
    }
    expect(await page.locator('#feed article.item').count()).toBe(45);
    expect(await page.evaluate(() => (window as any).owned)).toBeUndefined();

    await item(page, 'n44').click();
    await page.locator('#opened', { hasText: 'n44' }).waitFor(WAIT);
    await item(page, 'n44').and(page.locator('article:not(.unread)')).waitFor(WAIT);

    // The host's template draws the content; its fields get text.
    const custom = page.locator('#custom article.item', { hasText: 'n45' });
    await custom.locator('[data-field=title]').waitFor({ state: 'attached', ...WAIT });
    // Its <inbox-tab> children are its tabs, counted.
    await page.locator('#custom [role=tab][data-view=typed] .count', { hasText: /^4[0-9]$/ }).waitFor({ state: 'attached', ...WAIT });
    expect(await page.locator('#custom [role=tab]').allTextContents()).toEqual([
      expect.stringMatching(/^All/),
      expect.stringMatching(/^Of type t/),
    ]);

    await page.evaluate(() => document.querySelector('inbox-feed')!.client!.close());
    await page.locator('#feed .status[data-kind=offline]', { hasText: 'Offline' }).waitFor(WAIT);
  });

  it('renders a group as "Alice and 2 others", and a host renderer as given (a client the host made)', async () => {
    context = await rig.signIn('group-user');
    const page = await context.newPage();
    await page.goto(`${rig.origin}/`);
    // Grouped payloads come with the server's groups; until then a host-made client stands in,
    // which is also how a host hands the elements a client of its own.
    const text = await page.evaluate(async () => {
      const now = new Date().toISOString();
      const grouped = {
        ...{ id: '9', type: 'comment', title: 'commented on your post', body: null, data: null, topic: null, broadcast: false },
        ...{ createdAt: now, seenAt: null, readAt: null, archived: false, url: null, actions: [], tags: [] },
        actor: { name: 'Carol' },
        group: {
          key: 'post:1',
          count: 3,
          actors: [{ name: 'Alice', avatarUrl: 'javascript:alert(1)' }, { name: 'Bob' }, { name: 'Carol' }],
        },
      };
      const client = {
        state: 'connected',
        notifications: [grouped],
        counts: {},
        unread: 1,
        unseen: 1,
        hasMore: false,
        view: {},
        on: () => () => undefined,
        watchCounts: async () => ({}),
        list: async () => false,
        loadMore: async () => false,
      };
      const feed = document.createElement('inbox-feed');
      feed.id = 'stub';
      feed.client = client as any;
      document.body.append(feed);
      const custom = document.createElement('inbox-feed');
      custom.renderItem = (n) => Object.assign(document.createElement('b'), { className: 'mine', textContent: `${n.title}!` });
      custom.client = client as any;
      document.body.append(custom);
      await new Promise(requestAnimationFrame);
      return {
        group: feed.shadowRoot!.querySelector('.group')?.textContent,
        title: feed.shadowRoot!.querySelector('.title')?.textContent,
        images: feed.shadowRoot!.querySelectorAll('img').length,
        mine: custom.shadowRoot!.querySelector('.mine')?.textContent,
      };
    });
    expect(text).toEqual({ group: 'Alice and 2 others', title: 'commented on your post', images: 0, mine: 'commented on your post!' });
  });

  it('tells a visitor who is not signed in to sign in', async () => {
    context = await rig.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${rig.origin}/`);
    await page.locator('#feed .status', { hasText: 'Sign in to see your notifications' }).waitFor(WAIT);
    expect(await page.evaluate(() => document.querySelector('inbox-feed')!.client!.state)).toBe('unauthorized');
  });
});
