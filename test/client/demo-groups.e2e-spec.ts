import type { Browser, Page } from 'playwright-core';
import { MessagesService } from '../../src/messages/messages.service';
import { badge, type DemoRig, item, live, logIn, startDemo, submit, WAIT } from '../support/demo-browser';

/**
 * The demo's thread replies (issue 23): replies to one thread are one group, so the thread
 * owner's page shows one item, "Alice and 2 others" above the latest reply, replaced in place
 * live, and the badge counts it once. Every wait is for a state of the page; none sleeps.
 */

/** The feed is rendered even when the popover is closed: wait on an item attached, not visible. */
const held = (page: Page, text: string) => item(page, text).waitFor({ state: 'attached', ...WAIT });

/** Each item's group line ("Alice and 2 others") and title. */
const shown = (page: Page) =>
  page
    .locator('inbox-bell article.item')
    .evaluateAll((items) => items.map((i) => [i.querySelector('.group')?.textContent ?? null, i.querySelector('.title')?.textContent]));

describe('demo thread replies in Chromium', () => {
  let rig: DemoRig;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    rig = await startDemo();
    ({ browser, origin } = rig);
  }, 45000);
  afterAll(() => rig?.close());

  it('groups replies to one thread into one item, "Alice and 2 others", live and counted once', async () => {
    const [ownerCtx, aliceCtx] = [await browser.newContext(), await browser.newContext()];
    const [owner, alice] = [await ownerCtx.newPage(), await aliceCtx.newPage()];
    for (const page of [owner, alice]) await page.goto(origin);
    await logIn(owner, 'thread-owner');
    await logIn(alice, 'Alice');
    await live(owner);

    // Two replies from the demo's service (as another part of the site would send them)…
    const messages = rig.app.get(MessagesService);
    await messages.reply('Carol', 'thread-owner', 'Launch plan', 'First!', 'acme');
    await held(owner, 'Carol replied in “Launch plan”');
    await messages.reply('Bob', 'thread-owner', 'Launch plan', 'Agreed', 'acme');
    await held(owner, 'Bob and one other');
    // …and one through the page's form, from Alice.
    await alice.bringToFront();
    await alice.fill('#reply-form [name=to]', 'thread-owner');
    await alice.fill('#reply-form [name=thread]', 'Launch plan');
    await alice.fill('#reply-form [name=text]', 'Ship it');
    await submit(alice, '#reply-form', 'Replied in Launch plan');

    await owner.bringToFront();
    await held(owner, 'Alice and 2 others');
    await badge(owner, 1);
    expect(await shown(owner)).toEqual([['Alice and 2 others', 'Alice replied in “Launch plan”']]);
    await owner.waitForFunction(
      () => {
        const held = document.querySelector('inbox-bell')!.client!.notifications;
        return held.length === 1 && held[0].group?.count === 3;
      },
      null,
      WAIT,
    );
    expect(await item(owner, 'Alice and 2 others').locator('.body').textContent()).toBe('Ship it');

    // A reload (a first visit's catch-up) shows the same one item.
    await owner.reload();
    await live(owner);
    await held(owner, 'Alice and 2 others');
    expect(await shown(owner)).toEqual([['Alice and 2 others', 'Alice replied in “Launch plan”']]);
    await badge(owner, 1);
  }, 45000);
});
