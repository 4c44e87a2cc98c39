import { NotificationService } from 'nestjs-inbox';
import type { Browser, Page } from 'playwright-core';
import { badge, type DemoRig, item, live, logIn, onClient, sendMessage, startDemo, WAIT } from '../support/demo-browser';

/**
 * The demo's workspace switcher (issue 22): each workspace is a scope with its own feed and
 * badge, switched without a page reload; a site-wide notice shows in both. Every wait is for a
 * state of the page; none sleeps.
 */

/** The feed is rendered even when the popover is closed: wait on an item attached, not visible. */
const held = (page: Page, text: string) => item(page, text).waitFor({ state: 'attached', ...WAIT });
const gone = (page: Page, text: string) => item(page, text).waitFor({ state: 'detached', ...WAIT });

/** Picks a workspace in the header and waits until the page is live in it. */
async function switchTo(page: Page, workspace: string) {
  await page.bringToFront();
  await page.selectOption('#workspace', workspace);
  // The elements take the workspace as their `scope` and connect in it.
  await page.waitForFunction((scope) => document.querySelector('inbox-bell')?.client?.scope === scope, workspace, WAIT);
  await live(page);
}

/** What the page holds, newest first: each item's body (a message's text), or its title. */
const titles = (page: Page) =>
  page
    .locator('inbox-bell article.item')
    .evaluateAll((items) => items.map((li) => (li.querySelector('.body') ?? li.querySelector('.title'))!.textContent));

describe('demo workspaces in Chromium', () => {
  let rig: DemoRig;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    rig = await startDemo();
    ({ browser, origin } = rig);
  }, 45000);
  afterAll(() => rig?.close());

  it('switches between two workspaces without a reload, each with its own feed and badge; a site-wide notice shows in both', async () => {
    const [alice, bob] = [await browser.newContext(), await browser.newContext()];
    const [a, b] = [await alice.newPage(), await bob.newPage()];
    for (const page of [a, b]) await page.goto(origin);
    await logIn(a, 'ws-alice');
    await logIn(b, 'ws-bob');
    // Both start in the first workspace.
    expect(await a.inputValue('#workspace')).toBe('acme');
    // Marks the page: a reload would lose it.
    await a.evaluate(() => ((globalThis as unknown as { marker: number }).marker = 42));

    await sendMessage(b, 'ws-alice', 'Acme: standup moved');
    await sendMessage(b, 'ws-alice', 'Acme: review please');
    await held(a, 'Acme: review please');
    await badge(a, 2);

    await switchTo(a, 'globex');
    await gone(a, 'Acme: standup moved');
    await badge(a, 0);
    expect(await titles(a)).toEqual([]);

    await switchTo(b, 'globex');
    await sendMessage(b, 'ws-alice', 'Globex: invoice ready');
    await held(a, 'Globex: invoice ready');
    await badge(a, 1);

    // Site-wide (unscoped): the server's own notice reaches every workspace's page.
    await rig.app.get(NotificationService).broadcast({ type: 'system', title: 'Site-wide: maintenance at 22:00' });
    await held(a, 'Site-wide: maintenance at 22:00');
    await badge(a, 2);
    expect(await titles(a)).toEqual(['Site-wide: maintenance at 22:00', 'Globex: invoice ready']);

    await switchTo(a, 'acme');
    await held(a, 'Site-wide: maintenance at 22:00');
    await badge(a, 3);
    expect(await titles(a)).toEqual(['Site-wide: maintenance at 22:00', 'Acme: review please', 'Acme: standup moved']);

    // Read in Acme: the site-wide notice is read in Globex too, the Acme ones are Acme's only.
    await onClient(a, 'inbox.markAllRead()');
    await a.locator('inbox-bell [role=tab][data-view=unread]:not(:has(.count))').waitFor({ state: 'attached', ...WAIT });
    await switchTo(a, 'globex');
    await a.locator('inbox-bell article.item.unread', { hasText: 'Globex: invoice ready' }).waitFor({ state: 'attached', ...WAIT });
    await a
      .locator('inbox-bell article.item:not(.unread)', { hasText: 'Site-wide: maintenance at 22:00' })
      .waitFor({ state: 'attached', ...WAIT });
    await a.locator('inbox-bell [role=tab][data-view=unread] .count', { hasText: /^1$/ }).waitFor({ state: 'attached', ...WAIT });
    // The preferences follow the workspace too: they share the bell's connection.
    expect(
      await a.evaluate(() => document.querySelector('inbox-preferences')!.client === document.querySelector('inbox-bell')!.client),
    ).toBe(true);

    expect(await a.evaluate(() => (globalThis as unknown as { marker?: number }).marker)).toBe(42);
    await alice.close();
    await bob.close();
  }, 45000);
});
