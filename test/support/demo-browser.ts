import type { INestApplication } from '@nestjs/common';
import { createServer } from 'node:net';
import { type Browser, chromium, type Page } from 'playwright-core';
import { createDemoApp } from '../../src/demo-app';
import { createDatabase } from './database';

/** The demo app and a headless Chromium for the browser tests (`test/demo-*.e2e-spec.ts`). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Generous: the CI machine is shared; a wait ends as soon as the state is reached.
export const WAIT = { timeout: 10000 };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface DemoRig {
  app: INestApplication;
  browser: Browser;
  origin: string;
  close(): Promise<void>;
}

/** A fresh database, the demo app on a free port (and `env`, e.g. `DEMO_EMAIL_AFTER_MS`), and Chromium. */
export async function startDemo(env: Record<string, string> = {}): Promise<DemoRig> {
  const db = await createDatabase();
  let app: INestApplication | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await app?.close();
    await db.drop();
  };
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    Object.assign(
      process.env,
      { DATABASE_URL: db.url, PORT: String(port), APP_ORIGIN: origin, DEMO_EMAIL_AFTER_MS: '', SMTP_URL: '' },
      env,
    );
    app = await createDemoApp({ logger: ['error'] });
    await app.listen(port, '127.0.0.1');
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    return { app, browser, origin, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** A notification in the bell's feed (rendered whether the popover is open or not). */
export const item = (page: Page, text: string) => page.locator('inbox-bell article.item', { hasText: text });

/** Waits until the bell's badge (unseen notifications) shows `count` (hidden for 0). */
export function badge(page: Page, count: number) {
  return page
    .locator(`inbox-bell button.bell[data-unseen="${count}"]`)
    .waitFor({ state: 'attached', ...WAIT })
    .catch(async (err: Error) => {
      throw new Error(
        `badge never showed ${count} (it shows ${await page.locator('inbox-bell button.bell').getAttribute('data-unseen')})\n${err.message}`,
      );
    });
}

/** Waits until the page's elements are connected: the bell's client, which the preferences share. */
export async function live(page: Page) {
  await page
    .waitForFunction(() => document.querySelector('inbox-bell')?.client?.state === 'connected', null, WAIT)
    .catch(async (err: Error) => {
      const state = await page.evaluate(() => document.querySelector('inbox-bell')?.client?.state ?? 'no bell');
      throw new Error(`${err.message}\nconnection state: ${state}`);
    });
}

// Acting pages come to the front: Chromium throttles a background tab's rendering.
export async function logIn(page: Page, userId: string) {
  await page.bringToFront();
  await page.fill('#user-id', userId);
  await page.click('#login-form button[type=submit]');
  await live(page);
}

/** Opens the bell's popover (which marks what it shows seen). */
export async function openInbox(page: Page) {
  await page.bringToFront();
  if (!(await page.evaluate(() => document.querySelector('inbox-bell')!.open))) await page.click('inbox-bell button.bell');
  await page.locator('inbox-bell dialog[open]').waitFor(WAIT);
}

export async function closeInbox(page: Page) {
  await page.keyboard.press('Escape');
  await page.locator('inbox-bell dialog[open]').waitFor({ state: 'detached', ...WAIT });
}

/** Runs `expression` on the page's connection (the bell's client, as `inbox`) and returns its JSON-able result. */
export function onClient<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(`(async (inbox) => ${expression})(document.querySelector('inbox-bell').client)`) as Promise<T>;
}

/** Submits a demo form and waits for its own outcome (the status of an earlier one is cleared first). */
export async function submit(page: Page, form: string, done: string) {
  await page.bringToFront();
  const status = page.locator(`${form} output`);
  await status.evaluate((o) => (o.textContent = ''));
  await page.click(`${form} button[type=submit]`);
  await status
    .filter({ hasText: done })
    .waitFor(WAIT)
    .catch(async (err: Error) => {
      throw new Error(`${form}: ${await status.textContent()}\n${err.message}`);
    });
}

export async function sendMessage(page: Page, to: string, text: string) {
  await page.bringToFront();
  await page.fill('#message-form [name=to]', to);
  await page.fill('#message-form [name=text]', text);
  await submit(page, '#message-form', `Sent to ${to}`);
}
