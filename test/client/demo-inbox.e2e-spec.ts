import { join } from 'node:path';
import { NotificationService } from 'nestjs-inbox';
import type { Browser, Page } from 'playwright-core';
import {
  badge,
  closeInbox,
  type DemoRig,
  item,
  live,
  logIn,
  onClient,
  openInbox,
  sendMessage,
  startDemo,
  submit,
  WAIT,
} from '../support/demo-browser';

/**
 * The demo's inbox in Chromium (issue 13), now the drop-in elements (issue 25): tabs with live
 * counts, seen when the bell opens, archive / unarchive / delete and the page's bulk ones, action
 * buttons, avatars, and the preferences. Every wait is for a state of the page; none sleeps.
 */
/**
 * The picture of the README: written to test/artifacts on every run, and over
 * docs/inbox-demo.png only when asked (`INBOX_UPDATE_SCREENSHOT=1`), so a test run leaves the
 * tracked tree as it found it.
 */
const SCREENSHOT = process.env.INBOX_UPDATE_SCREENSHOT
  ? join(__dirname, '..', '..', 'docs', 'inbox-demo.png')
  : join(__dirname, '..', 'artifacts', 'inbox-demo.png');

/** Waits until the bell's tab of `view` shows `count` (no pill for 0). */
function tabCount(page: Page, view: string, count: number) {
  const tab = `inbox-bell [role=tab][data-view="${view}"]`;
  const shown =
    count === 0 ? page.locator(`${tab}:not(:has(.count))`) : page.locator(`${tab} .count`).filter({ hasText: new RegExp(`^${count}$`) });
  return shown.waitFor({ state: 'attached', ...WAIT }).catch(async (err: Error) => {
    const tabs = await page.locator('inbox-bell [role=tablist]').textContent();
    const client = await onClient(
      page,
      'JSON.stringify({ counts: inbox.counts, unread: inbox.unread, unseen: inbox.unseen, held: inbox.notifications.map((n) => n.title) })',
    );
    throw new Error(`tab ${view} never showed ${count} (tabs: ${tabs}; client: ${client})\n${err.message}`);
  });
}

/** Waits for every tab count named, in order. */
async function tabCounts(page: Page, counts: Record<string, number>) {
  for (const [view, n] of Object.entries(counts)) await tabCount(page, view, n);
}

async function showTab(page: Page, view: string) {
  await openInbox(page);
  await page.click(`inbox-bell [role=tab][data-view="${view}"]`);
  await page.locator(`inbox-bell [role=tab][data-view="${view}"][aria-selected="true"]`).waitFor(WAIT);
}

/** The feed is rendered even when the popover is closed: wait on an item attached, not visible. */
const gone = (page: Page, text: string) => item(page, text).waitFor({ state: 'detached', ...WAIT });
const held = (page: Page, text: string) => item(page, text).waitFor({ state: 'attached', ...WAIT });
/** An item's menu button, by its name (`Mark as read`, `Archive`, `Move to inbox`, `Delete`). */
const tool = (page: Page, text: string, name: string) => item(page, text).locator(`button[aria-label="${name}"]`);

async function broadcast(page: Page, kind: 'announcement' | 'system', title: string, body = '') {
  await page.bringToFront();
  await page.selectOption('#broadcast-form [name=kind]', kind);
  await page.fill('#broadcast-form [name=title]', title);
  await page.fill('#broadcast-form [name=body]', body);
  await submit(page, '#broadcast-form', 'Sent to everyone');
}

async function subscribe(page: Page, topic: string) {
  await page.bringToFront();
  await page.fill('#subscribe-form [name=topic]', topic);
  await submit(page, '#subscribe-form', `Subscribed to #${topic}`);
  await page.locator('#topics li', { hasText: `#${topic}` }).waitFor(WAIT);
}

async function publish(page: Page, topic: string, title: string) {
  await page.bringToFront();
  await page.fill('#publish-form [name=topic]', topic);
  await page.fill('#publish-form [name=title]', title);
  await submit(page, '#publish-form', `Published to #${topic}`);
}

/** A switch of the preferences element: a kind or a topic, by its name. */
const preference = (page: Page, name: string) => page.locator(`inbox-preferences label[data-name="${name}"] input`);

/** Switches a preference and waits until the server stored it. */
async function setSwitch(page: Page, name: string, on: boolean) {
  await page.bringToFront();
  await page.locator('inbox-preferences [part~="status"]').evaluate((o) => (o.textContent = ''));
  await preference(page, name).setChecked(on);
  await page.locator('inbox-preferences [part~="status"]', { hasText: 'Saved' }).waitFor(WAIT);
}

describe('demo inbox in Chromium: states, views, actions, preferences', () => {
  let rig: DemoRig;
  let browser: Browser;
  let origin: string;

  beforeAll(async () => {
    rig = await startDemo();
    ({ browser, origin } = rig);
  }, 45000);
  afterAll(() => rig?.close());

  async function signIn(userId: string, pages = 1, viewport = { width: 1200, height: 800 }) {
    const context = await browser.newContext({ viewport });
    const list: Page[] = [];
    for (let i = 0; i < pages; i++) {
      const page = await context.newPage();
      await page.goto(origin);
      if (i === 0) await logIn(page, userId);
      else await live(page); // the same session cookie: signed in at once
      list.push(page);
    }
    return { context, pages: list };
  }

  it('tabs and their counts follow across two pages of the same user: seen, archive, unarchive, delete', async () => {
    const alice = await signIn('alice', 2);
    const [a1, a2] = alice.pages;
    const bob = await signIn('bob');
    const [b1] = bob.pages;

    await sendMessage(b1, 'alice', 'Standup moved to 10:30');
    for (const page of [a1, a2]) {
      await badge(page, 1);
      await tabCounts(page, { all: 1, unread: 1, 'private-message': 1, archived: 0, system: 0 });
    }

    // Opening the bell marks it seen: the badge goes on both pages; it is still unread.
    await openInbox(a1);
    await item(a1, 'Standup moved').and(a1.locator('.unread')).waitFor(WAIT);
    await badge(a1, 0);
    await badge(a2, 0);
    await tabCounts(a2, { all: 1, unread: 1 });

    // Archived on one page: out of the inbox on both, counted under Archived.
    await tool(a1, 'Standup moved', 'Archive').click();
    await gone(a1, 'Standup moved');
    await gone(a2, 'Standup moved');
    for (const page of [a1, a2]) await tabCounts(page, { all: 0, unread: 0, 'private-message': 0, archived: 1 });

    // Listed under Archived on the other page; brought back from there, both inboxes show it again.
    await showTab(a2, 'archived');
    await tool(a2, 'Standup moved', 'Move to inbox').click();
    await gone(a2, 'Standup moved');
    await held(a1, 'Standup moved');
    for (const page of [a1, a2]) await tabCounts(page, { all: 1, unread: 1, archived: 0 });

    // Deleted: gone from every view on both pages.
    await tool(a1, 'Standup moved', 'Delete').click();
    await gone(a1, 'Standup moved');
    for (const page of [a1, a2]) await tabCounts(page, { all: 0, unread: 0, 'private-message': 0, archived: 0 });
    await showTab(a2, 'all');
    await a2.locator('inbox-bell [part~="status"]', { hasText: 'No notifications' }).waitFor(WAIT);
    expect(await a2.locator('inbox-bell article.item').count()).toBe(0);

    // The page's bulk changes by filter: every read one archived; Archived emptied.
    await sendMessage(b1, 'alice', 'Read me first');
    await sendMessage(b1, 'alice', 'Still to do');
    await tabCounts(a1, { all: 2, unread: 2 });
    await openInbox(a1);
    await item(a1, 'Read me first').locator('.title').click();
    await tabCounts(a1, { all: 1, unread: 1 });
    await closeInbox(a1);
    await a1.click('#archive-read');
    await a1.locator('#bulk-status', { hasText: 'Archived everything read.' }).waitFor(WAIT);
    await gone(a1, 'Read me first');
    await held(a1, 'Still to do');
    await gone(a2, 'Read me first');
    await showTab(a2, 'archived');
    await held(a2, 'Read me first');
    await tabCount(a2, 'archived', 0); // archived, but read: nothing unread there
    await closeInbox(a2);
    await a2.click('#delete-archived');
    await gone(a2, 'Read me first');
    await a2.locator('inbox-bell [part~="status"]', { hasText: 'No notifications' }).waitFor({ state: 'attached', ...WAIT });
    await tabCounts(a1, { all: 1, unread: 1, 'private-message': 1 });

    // The Unread tab: reading one there takes it out of the view.
    await showTab(a1, 'unread');
    await item(a1, 'Still to do').locator('.title').click();
    await gone(a1, 'Still to do');
    for (const page of [a1, a2]) await tabCounts(page, { all: 0, unread: 0 });

    await alice.context.close();
    await bob.context.close();
  }, 60000);

  it('runs action buttons (an event the page handles, a link) and shows avatars', async () => {
    const carol = await signIn('carol');
    const [c] = carol.pages;
    const dave = await signIn('dave');
    const [d] = dave.pages;

    await sendMessage(c, 'dave', 'Can you review my PR?');
    await openInbox(d);
    const message = item(d, 'Can you review my PR?');
    await message.waitFor(WAIT);

    // The avatar is carol's, drawn by the demo on its own origin, and it loaded.
    const avatar = message.locator('img.avatar');
    expect(await avatar.getAttribute('src')).toBe('/avatars/carol.svg');
    await d.waitForFunction(
      () => {
        const feed = document.querySelector('inbox-bell')!.feedElement.shadowRoot!;
        const images = Array.from(feed.querySelectorAll<HTMLImageElement>('img.avatar'));
        return images.length > 0 && images.every((img) => img.complete && img.naturalWidth > 0);
      },
      null,
      WAIT,
    );

    // An event action: the element hands it to the page (`inbox-action`), which opens the reply; it is read.
    await message.locator('button[part~="action"]', { hasText: 'Reply' }).click();
    await d.locator('#message-form output', { hasText: 'Replying to carol.' }).waitFor(WAIT);
    await d.locator('inbox-bell dialog[open]').waitFor({ state: 'detached', ...WAIT });
    expect(await d.inputValue('#message-form [name=to]')).toBe('carol');
    await d.locator('inbox-bell article.item.unread').waitFor({ state: 'detached', ...WAIT });
    await tabCount(d, 'unread', 0);

    // A link action (a site-relative url) navigates; the page it opens is ready to write to carol.
    await openInbox(d);
    const link = message.locator('button[part~="action"]', { hasText: 'Open chat' });
    await Promise.all([d.waitForURL(`${origin}/?to=carol`, WAIT), link.click()]);
    await live(d);
    expect(await d.inputValue('#message-form [name=to]')).toBe('carol');

    await carol.context.close();
    await dave.context.close();
  }, 60000);

  it('preferences: muting a type or a topic stops live delivery and counting; system cannot be muted', async () => {
    const gina = await signIn('gina');
    const [g] = gina.pages;
    const hank = await signIn('hank');
    const [h] = hank.pages;

    await subscribe(g, 'deploys');
    await g.locator('inbox-preferences label[data-name="deploys"] input:not([disabled])').waitFor(WAIT);
    // System notices are not the user's to mute: the page offers no switch for them.
    expect(await preference(g, 'system').count()).toBe(0);

    await setSwitch(g, 'private-message', false);
    await setSwitch(g, 'deploys', false);

    // Muted: a message and a topic post, then a system notice, which always comes. When the notice
    // is there, the muted ones have had their chance to arrive before it: they did not.
    await sendMessage(h, 'gina', 'Muted hello');
    await publish(h, 'deploys', 'Muted deploy');
    await broadcast(h, 'system', 'Maintenance tonight', 'From 22:00 to 23:00 UTC');
    await held(g, 'Maintenance tonight');
    await badge(g, 1);
    await tabCounts(g, { all: 1, unread: 1, system: 1, 'private-message': 0, publish: 0 });
    expect(await g.locator('inbox-bell article.item', { hasText: 'Muted' }).count()).toBe(0);

    // Still stored and listed: the Messages and Topics tabs read them from the server.
    await showTab(g, 'private-message');
    await held(g, 'Muted hello');
    await showTab(g, 'publish');
    await held(g, 'Muted deploy');

    // The server refuses to mute what the host says is not mutable.
    const refused = await onClient(g, `inbox.setPreferences({ muted: { types: ['system'] } }).then(() => 'stored', (e) => e.code)`);
    expect(refused).toBe('FORBIDDEN');

    // Switched back on: delivered live again.
    await closeInbox(g);
    await setSwitch(g, 'private-message', true);
    await showTab(g, 'all');
    await sendMessage(h, 'gina', 'Loud hello');
    await held(g, 'Loud hello');
    // Muting kept the earlier one out of the counts without reading it: it counts again.
    await tabCount(g, 'private-message', 2);

    await gina.context.close();
    await hank.context.close();
  }, 60000);

  it('renders a full inbox (docs/inbox-demo.png)', async () => {
    const service = rig.app.get(NotificationService);
    const ivy = await signIn('ivy', 1, { width: 1200, height: 940 });
    const [page] = ivy.pages;
    const jack = await signIn('jack');
    const [j] = jack.pages;
    await subscribe(page, 'releases');

    // Start from an empty inbox: earlier tests' broadcasts reach ivy too.
    await onClient(page, `inbox.remove({ state: 'all' })`);
    await page
      .locator('inbox-bell article.item')
      .first()
      .waitFor({ state: 'detached', ...WAIT });

    await broadcast(j, 'announcement', 'New office opens Monday', 'Coffee on the 3rd floor from 9:00.');
    await publish(j, 'releases', 'v2.4 is out: tabs, archive and mute');
    await service.notify('ivy', {
      type: 'private-message',
      title: 'Message from mia',
      body: 'Thanks for the review!',
      actor: { id: 'mia', name: 'mia', avatarUrl: '/avatars/mia.svg' },
      tags: ['dm'],
    });
    await sendMessage(j, 'ivy', 'Lunch at noon? I booked the usual place.');
    await tabCount(page, 'all', 4);

    await openInbox(page);
    await item(page, 'Thanks for the review').locator('.title').click(); // one read
    await tabCount(page, 'all', 3);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: SCREENSHOT });

    await ivy.context.close();
    await jack.context.close();
  }, 60000);
});
