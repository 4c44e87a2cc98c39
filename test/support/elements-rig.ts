import { build } from 'esbuild';
import ts from 'typescript';
import { filter, firstValueFrom, timeout } from 'rxjs';
import { expect } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NotificationsModuleOptions } from 'nestjs-inbox';
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { elementsScriptTagBundle } from '../../libs/nestjs-inbox/scripts/build-client';
import { migrate, startApp, type TestApp } from './app';
import { createDatabase } from './database';
import { CHROMIUM, WAIT } from './demo-browser';
import { Child, freePort, waitForPort } from './processes';

/**
 * The drop-in elements' browser tests (test/elements/): the Nest app on one port, a page served
 * by PHP's built-in server on another (as a PHP site beside the Nest app), and Chromium with the
 * `uid` cookie that names the user. The page's origin is the app's `allowedOrigins`.
 */
export interface ElementsRig {
  app: TestApp;
  /** The folder `php -S` serves: write the page's files into it. */
  site: string;
  /** The page's origin (`http://127.0.0.1:<php port>`). */
  origin: string;
  browser: Browser;
  /** A browser context signed in as `userId` (with Playwright's context options, e.g. `timezoneId`). */
  signIn(userId: string, options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

/** `options`: the module's, beside the page's origin in `allowedOrigins` (e.g. `channels`). */
export async function startElementsRig(options: Partial<NotificationsModuleOptions> = {}): Promise<ElementsRig> {
  const db = await createDatabase();
  const site = mkdtempSync(join(tmpdir(), 'inbox-elements-'));
  let php: Child | undefined;
  let app: TestApp | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    await browser?.close();
    await php?.stop();
    await app?.close();
    await db.drop();
    rmSync(site, { recursive: true, force: true });
  };
  try {
    await migrate(db.url);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    app = await startApp(db.url, { allowedOrigins: [origin], ...options });
    // A PHP template reads where the Nest app is, as a real site reads its configuration.
    process.env.INBOX_URL = app.url;
    const server = (php = new Child('php', ['-S', `127.0.0.1:${port}`, '-t', site]));
    server.start();
    await waitForPort(port).catch((err) => {
      throw new Error(`${(err as Error).message}; php said: ${server.log.slice(-500)}`);
    });
    writeFileSync(join(site, 'inbox-elements.js'), await elementsScriptTagBundle());
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    const b = browser;
    const url = app.url;
    const signIn = async (userId: string, options?: BrowserContextOptions) => {
      const context = await b.newContext(options);
      await context.addCookies([{ name: 'uid', value: userId, url }]);
      return context;
    };
    return { app, site, origin, browser, signIn, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Bundles a test app (React, Vue) with the project's bundler into the served folder. */
export async function bundleInto(
  site: string,
  file: string,
  source: string,
  options: { define?: Record<string, string>; alias?: Record<string, string> } = {},
): Promise<void> {
  const result = await build({
    stdin: { contents: source, resolveDir: join(__dirname, '..', '..'), loader: 'tsx', sourcefile: file },
    bundle: true,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    jsx: 'automatic',
    alias: options.alias,
    define: {
      ...options.define,
      'process.env.NODE_ENV': '"production"',
      __VUE_OPTIONS_API__: 'true',
      __VUE_PROD_DEVTOOLS__: 'false',
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: 'false',
    },
    write: false,
    logLevel: 'silent',
  });
  writeFileSync(join(site, file), result.outputFiles[0].text);
}

/** What each framework test checks: a notification shows live, is marked read, and the host hears `inbox-action`. */
export async function showsReadsAndActs(page: Page, app: TestApp, userId: string, title: string): Promise<void> {
  const bell = page.locator('inbox-bell button.bell');
  await page.locator('inbox-bell').waitFor(WAIT);
  await page.waitForFunction(() => document.querySelector('inbox-bell')?.client?.state === 'connected', undefined, WAIT);
  await app.service.notify(userId, { type: 'comment', title, body: 'body text', actions: [{ label: 'Reply', event: 'reply' }] });
  await page.locator(`inbox-bell button.bell[aria-label="Notifications, 1 unseen"]`).waitFor(WAIT);
  await bell.click();
  const item = page.locator('inbox-bell dialog article.item', { hasText: title });
  await item.locator('.title').waitFor(WAIT);
  await page.locator('inbox-bell button.bell[aria-label="Notifications"]').waitFor({ state: 'attached', ...WAIT });
  await item.locator('button[aria-label="Mark as read"]').click();
  await page.locator('inbox-bell dialog article.item:not(.unread)', { hasText: title }).waitFor(WAIT);
  // The server hears the action too (notifications:action), as an engagement event with the action as stored.
  const acted = firstValueFrom(
    app.service.events.pipe(
      filter((e) => e.type === 'action' && e.userId === userId),
      timeout(WAIT.timeout),
    ),
  );
  await item.locator('button[part=action]', { hasText: 'Reply' }).click();
  await page.locator('#heard', { hasText: `reply ${title}` }).waitFor(WAIT);
  expect((await acted).action).toEqual({ index: 0, label: 'Reply', event: 'reply' });
}

/**
 * TypeScript's errors for `files` under the project's compiler options, with JSX for React: how a
 * test shows that the elements' typings check a host's attributes.
 */
export function typeErrors(files: string[]): string[] {
  const root = join(__dirname, '..', '..');
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), (p) => ts.sys.readFile(p));
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram(files, { ...options, jsx: ts.JsxEmit.ReactJSX, noEmit: true, types: [] });
  return ts
    .getPreEmitDiagnostics(program)
    .map((d) => `${d.file ? `${d.file.fileName}: ` : ''}${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}
