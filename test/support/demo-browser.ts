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

/** A fresh database, the demo app on a free port, and Chromium. */
export async function startDemo(): Promise<DemoRig> {
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
    Object.assign(process.env, { DATABASE_URL: db.url, PORT: String(port), APP_ORIGIN: origin });
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

export const item = (page: Page, text: string) => page.locator('#items .item', { hasText: text });

/** Waits until the bell's badge (unseen notifications) shows `count` (hidden for 0). */
export function badge(page: Page, count: number) {
  return page.waitForFunction(
    (n) => {
      const b = document.querySelector<HTMLElement>('#badge')!;
      return n === 0 ? b.hidden : !b.hidden && b.textContent === String(n);
    },
    count,
    WAIT,
  );
}

export async function live(page: Page) {
  await page
    .locator('#conn[data-state="connected"]')
    .waitFor(WAIT)
    .catch(async (err: Error) => {
      throw new Error(`${err.message}\nconnection state: ${await page.locator('#conn').getAttribute('data-state')}`);
    });
}

// Acting pages come to the front: Chromium throttles a background tab's rendering.
export async function logIn(page: Page, userId: string) {
  await page.bringToFront();
  await page.fill('#user-id', userId);
  await page.click('#login-form button[type=submit]');
  await live(page);
}

export async function openInbox(page: Page) {
  await page.bringToFront();
  if (await page.locator('#inbox').isHidden()) await page.click('#bell');
  await page.locator('#inbox').waitFor({ state: 'visible', ...WAIT });
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
