import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from 'pg';
import { chromium } from 'playwright-core';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { CHROMIUM } from '../support/demo-browser';
import { setCookie } from '../support/http';
import { HostProcess, killRunning, mustRun, packLibrary, secs, type Run } from '../support/packed-app';
import { freePort } from '../support/processes';

/**
 * docs/getting-started.md, followed as a new user follows it: its file blocks written into a
 * fresh CommonJS app as `nest new` makes it, its install line run with a plain `npm install`
 * (the packed library in place of the registry's), compiled by the app's own tsc, started with
 * `node` on a fresh database, then used as the guide says: log in over HTTP, open the socket
 * with that cookie from the app's origin, have the service notify, receive it; and the page
 * itself in Chromium.
 */

const GUIDE = join(__dirname, '..', '..', 'docs', 'getting-started.md');
const LIBRARY_PACKAGE = join(__dirname, '..', '..', 'libs', 'nestjs-inbox', 'package.json');
// The tsconfig.json `nest new --type cjs` of Nest 12 writes (compat's host app uses the same).
const NEST_NEW_TSCONFIG = join(__dirname, 'compat', 'host', 'tsconfig.json');
/** What `nest new` put in package.json that the guide's files use or that compiles them. */
const NEST_NEW = ['@nestjs/common@^12', '@nestjs/core@^12', '@nestjs/platform-express@^12', 'reflect-metadata@^0.2', 'rxjs@^7.8'];
const NEST_NEW_DEV = ['typescript@^6', '@types/node@^24', '@types/express@^5'];
const INSTALL_TIMEOUT_MS = 4 * 60_000;
const TSC_TIMEOUT_MS = 90_000;
const HOOK_TIMEOUT_MS = 2 * INSTALL_TIMEOUT_MS + TSC_TIMEOUT_MS + 60_000;
// The guide's main.ts prints it; the URL is the one the guide tells the user to open.
const READY = /Open (http:\/\/localhost:\d+)/;
const WAIT = { timeout: 10_000 };

const nameOf = (spec: string) =>
  (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]).replace(/(?<=.)@.*$/, '');
// eslint-disable-next-line no-control-regex -- ANSI colour codes start with ESC
const stripColors = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '');

interface Guide {
  /** Path in the app to content, for every block whose first line names its file. */
  files: Map<string, string>;
  /** The packages of its `npm install` lines, as written. */
  install: string[];
  /** The packages its files import or resolve (bare specifiers, not `node:`). */
  imports: Set<string>;
  /** The module's boot line as the guide shows it. */
  bootLine: string;
}

function readGuide(): Guide {
  const text = readFileSync(GUIDE, 'utf8');
  const blocks = [...text.matchAll(/^```(\w*)[^\n]*\n([\s\S]*?)^```$/gm)].map(([, lang, body]) => ({ lang, body }));
  const files = new Map<string, string>();
  for (const { body } of blocks) {
    const path = /^(?:\/\/|#|<!--)\s*((?:\.|[\w-]+\/)[\w./-]*)\s*(?:-->)?\n/.exec(body)?.[1];
    if (!path) continue;
    if (files.has(path)) throw new Error(`the guide has two blocks for ${path}`);
    files.set(path, body);
  }
  const install = blocks
    .filter((b) => b.lang === 'bash')
    .flatMap((b) => b.body.split('\n'))
    .filter((line) => /^npm install /.test(line))
    .flatMap((line) =>
      line
        .split(/\s+/)
        .slice(2)
        .filter((word) => !word.startsWith('-')),
    );
  const imports = new Set<string>();
  for (const [path, body] of files) {
    if (!path.endsWith('.ts')) continue;
    for (const [, spec] of body.matchAll(/(?:from |import |require(?:\.resolve)?\()'([^'.][^']*)'/g)) {
      if (!spec.startsWith('node:')) imports.add(nameOf(spec));
    }
  }
  const bootLine = /^\[NotificationsModule\] (.+)$/m.exec(text)?.[1];
  if (!bootLine) throw new Error('the guide shows no [NotificationsModule] boot line');
  return { files, install, imports, bootLine };
}

describe('docs/getting-started.md', () => {
  const guide = readGuide();

  it('has the files a new app needs, each a whole file', () => {
    expect([...guide.files.keys()].sort()).toEqual([
      '.env',
      'public/index.html',
      'src/app.module.ts',
      'src/auth.controller.ts',
      'src/greetings.controller.ts',
      'src/greetings.service.ts',
      'src/main.ts',
      'src/session.ts',
    ]);
  });

  it('installs every package its files import, and each package it installs has a reason', () => {
    const installed = new Set(guide.install.map(nameOf));
    const fromNestNew = new Set([...NEST_NEW, ...NEST_NEW_DEV].map(nameOf));
    // A type-only import (`express`) is there when its types are.
    const has = (p: string) => [p, `@types/${p}`].some((q) => installed.has(q) || fromNestNew.has(q));
    const notInstalled = [...guide.imports].filter((p) => !has(p));
    expect(notInstalled, 'imported by the guide, installed by neither its npm install nor nest new').toEqual([]);

    // The library's peers are installed for it (the socket's platform, the database driver).
    const { peerDependencies, peerDependenciesMeta = {} } = JSON.parse(readFileSync(LIBRARY_PACKAGE, 'utf8'));
    const peers = new Set(Object.keys(peerDependencies).filter((p) => !peerDependenciesMeta[p]?.optional));
    const typesOf = (p: string) => p.startsWith('@types/') && guide.imports.has(p.slice('@types/'.length));
    const unexplained = [...installed].filter((p) => !guide.imports.has(p) && !typesOf(p) && !peers.has(p));
    expect(unexplained, 'installed by the guide, but neither imported, the types of an import, nor a peer of nestjs-inbox').toEqual([]);
  });
});

describe('an app built from docs/getting-started.md', () => {
  const guide = readGuide();
  const tag = Math.random().toString(36).slice(2, 8);
  const timings: string[] = [];
  let workRoot: string | undefined;
  let dir: string;
  let db: Awaited<ReturnType<typeof createDatabase>> | undefined;
  let host: HostProcess | undefined;
  let url: string;
  let origin: string;
  const clients: TestClient[] = [];

  /** The guide's login route: answers the `connect.sid=…` cookie its response set. */
  const login = async (userId: string): Promise<string> => {
    const res = await fetch(`${url}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ userId }),
    });
    // express-session saves the session as the response ends: read the whole body first.
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { userId } });
    return setCookie(res, 'connect.sid');
  };
  const post = async (path: string, cookie: string) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { cookie } });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
    return JSON.parse(text);
  };

  beforeAll(async () => {
    const began = Date.now();
    workRoot = mkdtempSync(join(tmpdir(), 'nestjs-inbox-getting-started-'));
    const { tarball, pack } = await packLibrary(workRoot, INSTALL_TIMEOUT_MS);
    dir = join(workRoot, 'my-app');
    mkdirSync(dir);
    // No "type": a CommonJS app, as `nest new` makes it.
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'my-app', version: '0.0.1', private: true, license: 'UNLICENSED' }, null, 2)}\n`,
    );
    copyFileSync(NEST_NEW_TSCONFIG, join(dir, 'tsconfig.json'));
    for (const [path, content] of guide.files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
    // One npm install for what nest new installed and the guide's two lines (the registry's
    // nestjs-inbox is the packed one here): the same packages, one resolution.
    const packages = guide.install.map((p) => (nameOf(p) === 'nestjs-inbox' ? tarball : p));
    const install: Run = await mustRun(
      'npm install',
      'npm',
      ['install', '--no-audit', '--no-fund', ...NEST_NEW, ...NEST_NEW_DEV, ...packages],
      dir,
      INSTALL_TIMEOUT_MS,
    );
    expect(install.output).not.toMatch(/ERESOLVE|conflicting peer/i);
    const tsc = await mustRun(`the app's own tsc`, 'npx', ['tsc', '-p', '.'], dir, TSC_TIMEOUT_MS);
    timings.push(`npm run pack:lib ${secs(pack.ms)}, npm install ${secs(install.ms)}, tsc ${secs(tsc.ms)}`);

    const booting = Date.now();
    db = await createDatabase();
    const port = await freePort();
    origin = `http://localhost:${port}`;
    // SESSION_SECRET is not here: the guide's .env gives it, read once ConfigModule has loaded it.
    const started = await HostProcess.start(dir, { DATABASE_URL: db.url, PORT: String(port), APP_ORIGIN: origin }, READY);
    host = started.host;
    url = started.url;
    timings.push(`database and first boot ${secs(Date.now() - booting)}; ${secs(Date.now() - began)} in all`);
  }, HOOK_TIMEOUT_MS);

  afterEach(({ task }) => {
    if (task.result?.state === 'fail' && host) console.log(`the guide's app said:\n${host.log.slice(-4000)}`);
  });

  afterAll(async () => {
    killRunning();
    clients.splice(0).forEach((c) => c.close());
    await host?.stop();
    await db?.drop();
    if (workRoot) await rm(workRoot, { recursive: true, force: true });
    console.log(`getting-started timings:\n  ${timings.join('\n  ')}`);
  }, 120_000);

  it('boots on an empty database: the migrations ran, and the module logged the line the guide shows', async () => {
    expect(url).toBe(origin);
    const shown = guide.bootLine.replace('http://localhost:3000', origin);
    expect(stripColors(host!.log)).toContain(`[NotificationsModule] ${shown}`);
    const pg = new Client({ connectionString: db!.url });
    await pg.connect();
    try {
      const { rows } = await pg.query(`SELECT count(*)::int AS n FROM migrations`);
      expect(rows[0].n).toBeGreaterThan(0);
    } finally {
      await pg.end();
    }
  });

  it('serves the page and the script bundle from the installed package', async () => {
    const page = await fetch(`${url}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toBe(guide.files.get('public/index.html'));
    const script = await fetch(`${url}/inbox.js`);
    expect({ status: script.status, type: script.headers.get('content-type') }).toMatchObject({
      status: 200,
      type: expect.stringMatching(/^(application|text)\/javascript/),
    });
    expect(await script.text()).toBe(readFileSync(join(dir, 'node_modules', 'nestjs-inbox', 'client', 'inbox.js'), 'utf8'));
  });

  it("a user who logged in over HTTP receives the service's notify live on the socket", async () => {
    const user = `ada-${tag}`;
    const cookie = await login(user);
    // The session is in Postgres, in the table connect-pg-simple made itself.
    const me = await fetch(`${url}/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ userId: user });
    const client = await TestClient.connect(url, null, { cookie, origin });
    clients.push(client);
    const from = client.mark();
    const { id } = await post('/greet', cookie);
    expect(await client.waitForTitle('Hello from nestjs-inbox', from)).toMatchObject({ id, type: 'greeting', readAt: null });
  });

  it('refuses a socket without the cookie, saying where to look, and one from another origin', async () => {
    const noCookie = await TestClient.refusal(url, null, { cookie: null, origin });
    expect({ message: noCookie.message, code: noCookie.data?.code }).toEqual({
      message: expect.stringMatching(/^unauthorized: no session cookie 'connect\.sid' \(check: .*`secure`.*http.*SameSite.*path/),
      code: 'UNAUTHORIZED',
    });
    const cookie = await login(`eve-${tag}`);
    const foreign = await TestClient.refusal(url, null, { cookie, origin: 'https://evil.example' });
    expect(foreign.data?.code).toBe('FORBIDDEN');
  });

  it("logout closes the user's open socket", async () => {
    const cookie = await login(`grace-${tag}`);
    const client = await TestClient.connect(url, null, { cookie, origin });
    clients.push(client);
    await post('/logout', cookie);
    await client.waitFor('disconnect');
    const me = await fetch(`${url}/me`, { headers: { cookie } });
    expect(await me.json()).toEqual({ userId: null });
  });

  it('the page, in Chromium: log in with the form, press the button, the notification shows', async () => {
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      await page.goto(url);
      await page.fill('input[name=userId]', `lin-${tag}`);
      await page.click('#login button');
      await page.waitForFunction(() => document.getElementById('state')?.textContent === 'connected', undefined, WAIT);
      await page.click('#greet');
      await page.locator('#notifications li', { hasText: 'Hello from nestjs-inbox' }).waitFor(WAIT);
      await page.waitForFunction(() => document.getElementById('unread')?.textContent === '1', undefined, WAIT);
      // Stored, not only pushed: a reload is still signed in and lists it again.
      await page.reload();
      await page.locator('#notifications li', { hasText: 'Hello from nestjs-inbox' }).waitFor(WAIT);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
