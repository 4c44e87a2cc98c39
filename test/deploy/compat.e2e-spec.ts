import { cpSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerEvent, type NotificationPayload } from 'nestjs-inbox';
import { ORIGIN } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { setCookie } from '../support/http';
import { HostProcess, killRunning, mustRun, packLibrary, secs, type Run } from '../support/packed-app';
import { until } from '../support/processes';

/**
 * The packed library as a new user gets it: a plain `npm install` (no --force, no
 * --legacy-peer-deps) into a fresh CommonJS host app on each supported pair of majors, compiled
 * by that app's own tsc, run with plain `node`, against a fresh database and the machine's Redis.
 *
 * The host app (test/deploy/compat/host) is one source for both: TypeORM with the library's
 * migrations, the module with the site's express-session store, a login route and notify routes.
 */

interface Host {
  name: string;
  /** What `npm install` is given besides the tarball: what such an app has in its package.json. */
  deps: string[];
  /** Majors the install must have resolved (typeorm 0 means 0.3.20+). */
  majors: Record<string, number>;
}

const NEST = ['common', 'core', 'platform-express', 'websockets', 'platform-socket.io', 'typeorm'].map((p) => `@nestjs/${p}`);
const RUNTIME = ['pg@^8', 'socket.io@^4.8', 'express-session@^1', 'reflect-metadata@^0.2', 'rxjs@^7.8', '@types/express-session@^1'];

const HOSTS: Host[] = [
  {
    // What `nest new --type cjs` of Nest 12 writes: TypeScript ^6, @types/node ^24.
    name: 'current: Nest 12, TypeORM 1, TS 6',
    deps: [...NEST.map((p) => `${p}@^12`), 'typeorm@^1', ...RUNTIME, 'typescript@^6', '@types/node@^24'],
    majors: { ...Object.fromEntries(NEST.map((p) => [p, 12])), typeorm: 1, typescript: 6 },
  },
  {
    // What Nest 11's `nest new` wrote (TypeScript ^5.7, @types/node ^22), on the last 5.x.
    name: 'previous: Nest 11, TypeORM 0.3, TS 5.9',
    deps: [...NEST.map((p) => `${p}@^11`), 'typeorm@^0.3.20', ...RUNTIME, 'typescript@~5.9', '@types/node@^22'],
    majors: { ...Object.fromEntries(NEST.map((p) => [p, 11])), typeorm: 0, typescript: 5 },
  },
];

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(__dirname, 'compat', 'host');
// A command is killed before its hook times out, so the failure shows what it printed.
const INSTALL_TIMEOUT_MS = 4 * 60_000;
const TSC_TIMEOUT_MS = 90_000;
const HOOK_TIMEOUT_MS = INSTALL_TIMEOUT_MS + TSC_TIMEOUT_MS + 30_000;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const READY = /compat host ready on (http:\/\/\S+)/;

/** A fresh app directory with the library installed and compiled, or why not. */
interface Prepared {
  dir: string;
  install: Run;
  tsc: Run;
}

/** Writes the app's package.json and sources, installs, compiles: what a new user does. */
async function prepare(host: Host, workRoot: string, tarball: string): Promise<Prepared> {
  const dir = mkdtempSync(join(workRoot, 'host-'));
  cpSync(FIXTURE, dir, { recursive: true });
  // No "type": a CommonJS app, as `nest new --type cjs` makes it.
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'compat-host', version: '0.0.0', private: true, license: 'UNLICENSED' }, null, 2)}\n`,
  );
  const install = await mustRun(
    'npm install',
    'npm',
    ['install', '--no-audit', '--no-fund', tarball, ...host.deps],
    dir,
    INSTALL_TIMEOUT_MS,
  );
  const tsc = await mustRun(`the app's own tsc`, 'npx', ['tsc', '-p', '.'], dir, TSC_TIMEOUT_MS);
  return { dir, install, tsc };
}

function installedVersion(dir: string, pkg: string): string {
  return JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

/** The site's login over HTTP: returns the `connect.sid=…` its response set. */
async function login(url: string, user: string): Promise<string> {
  const res = await fetch(`${url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user }),
  });
  // express-session saves the session as the response ends: read the whole body first.
  expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { user } });
  return setCookie(res, 'connect.sid');
}

async function post<T = any>(url: string, path: string, cookie: string, body: object): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/**
 * Titles of the notifications received from `from` on, in order of first arrival, once each:
 * the protocol allows a resend of an id (e.g. the catch-up when Redis is first reached), which
 * the client drops.
 */
function titlesOf(client: TestClient, from = 0): string[] {
  const byId = new Map<string, string>();
  for (const e of client.log.slice(from)) {
    const n = e.payload as NotificationPayload;
    if (e.event === ServerEvent.Notification && !byId.has(n.id)) byId.set(n.id, String(n.title));
  }
  return [...byId.values()];
}

let workRoot: string | undefined;
const prepared = new Map<Host, Promise<Prepared>>();
const timings: string[] = [];
let began = 0;

// One tarball for both apps; both installs run side by side (each host's tests wait for its own).
beforeAll(async () => {
  began = Date.now();
  workRoot = mkdtempSync(join(tmpdir(), 'nestjs-inbox-compat-'));
  const { tarball, pack } = await packLibrary(workRoot, INSTALL_TIMEOUT_MS);
  timings.push(`npm run pack:lib ${secs(pack.ms)}`);
  for (const host of HOSTS) {
    const p = prepare(host, workRoot, tarball);
    p.catch(() => undefined); // reported by that host's beforeAll
    prepared.set(host, p);
  }
}, HOOK_TIMEOUT_MS);

afterAll(async () => {
  killRunning();
  await Promise.allSettled(prepared.values());
  const cleaning = Date.now();
  if (workRoot) await rm(workRoot, { recursive: true, force: true });
  timings.push(`temp dirs removed in ${secs(Date.now() - cleaning)}; ${secs(Date.now() - began)} in all`);
  console.log(`compat timings:\n  ${timings.join('\n  ')}`);
}, 120_000);

describe.each(HOSTS)('a fresh $name host app', (host) => {
  // Unique per run: another run on the same Redis must not reach these users' sockets.
  const tag = Math.random().toString(36).slice(2, 8);
  const [alice, bob] = [`alice-${tag}`, `bob-${tag}`];
  let app: Prepared;
  let db: Awaited<ReturnType<typeof createDatabase>> | undefined;
  const processes: HostProcess[] = [];
  const clients: TestClient[] = [];
  let url: string;
  let cookie: string;
  let client: TestClient;

  const start = async () => {
    const started = await HostProcess.start(app.dir, { PORT: '0', DATABASE_URL: db!.url, REDIS_URL, ALLOWED_ORIGIN: ORIGIN }, READY);
    processes.push(started.host);
    return started.url;
  };

  beforeAll(async () => {
    const waiting = Date.now();
    const preparing = prepared.get(host);
    if (!preparing) throw new Error('nothing to install: the library was not packed (see the first beforeAll)');
    app = await preparing;
    timings.push(`${host.name}: npm install ${secs(app.install.ms)}, tsc ${secs(app.tsc.ms)} (waited ${secs(Date.now() - waiting)} here)`);
    const booting = Date.now();
    db = await createDatabase();
    url = await start();
    timings.push(`${host.name}: database and boot ${secs(Date.now() - booting)}`);
  }, HOOK_TIMEOUT_MS);

  afterEach(({ task }) => {
    if (task.result?.state !== 'fail') return;
    processes.forEach((p, i) => console.log(`host app #${i + 1} (${host.name}) said:\n${p.log.slice(-4000)}`));
  });

  afterAll(async () => {
    clients.splice(0).forEach((c) => c.close());
    await Promise.all(processes.splice(0).map((p) => p.stop()));
    await db?.drop();
  }, 60_000);

  it('installed the packed library beside the expected majors, with no peer conflict', () => {
    // npm resolved every peer without overriding one (what --force or --legacy-peer-deps would hide).
    expect(app.install.output).not.toMatch(/ERESOLVE|peer dep|conflicting peer/i);
    const installed = Object.fromEntries(Object.keys(host.majors).map((pkg) => [pkg, installedVersion(app.dir, pkg)]));
    const majors = Object.fromEntries(Object.entries(installed).map(([pkg, v]) => [pkg, Number(v.split('.')[0])]));
    expect({ majors, installed }).toMatchObject({ majors: host.majors });
    if (host.majors.typeorm === 0) expect(Number(installed.typeorm.split('.')[2])).toBeGreaterThanOrEqual(20);
    // One copy of each framework package, the app's: none nested under the library.
    for (const pkg of Object.keys(host.majors)) {
      expect(existsSync(join(app.dir, 'node_modules', 'nestjs-inbox', 'node_modules', pkg)), pkg).toBe(false);
    }
    const { version } = JSON.parse(readFileSync(join(ROOT, 'libs', 'nestjs-inbox', 'package.json'), 'utf8'));
    expect(installedVersion(app.dir, 'nestjs-inbox')).toBe(version);
  });

  it('authenticates the socket with the signed connect.sid cookie its login route set', async () => {
    cookie = await login(url, alice);
    expect(decodeURIComponent(cookie.slice('connect.sid='.length))).toMatch(/^s:/);
    client = await TestClient.connect(url, null, { cookie });
    clients.push(client);
    expect(client.log.find((e) => e.event === ServerEvent.Synced)?.payload).toMatchObject({ unread: 0, unseen: 0, truncated: false });

    const refused = await TestClient.refusal(url, null, { cookie: null });
    expect({ message: refused.message, code: refused.data?.code }).toEqual({
      message: expect.stringMatching(/^unauthorized: no session cookie 'connect\.sid' \(check: /),
      code: 'UNAUTHORIZED',
    });
  });

  it('delivers a plain notify', async () => {
    const from = client.mark();
    const { id } = await post(url, '/notify', cookie, { title: 'plain' });
    expect(await client.waitForTitle('plain', from)).toMatchObject({ id, type: 'compat', title: 'plain', readAt: null });
  });

  it('delivers notify({ manager }) once its transaction commits', async () => {
    const from = client.mark();
    const { id } = await post(url, '/notify/commit', cookie, { title: 'committed' });
    expect((await client.waitForTitle('committed', from)).id).toBe(id);
  });

  it('neither delivers nor stores notify({ manager }) in a transaction that rolls back', async () => {
    const from = client.mark();
    const rolledBack = await post(url, '/notify/rollback', cookie, { title: 'rolled back' });
    // It was stored inside the transaction (it got an id), then the transaction threw.
    expect(rolledBack).toEqual({ rolledBack: true, id: expect.stringMatching(/^[1-9][0-9]*$/) });
    // A later notification is a barrier: anything emitted for the rolled-back row came before it.
    const { id: barrier } = await post(url, '/notify', cookie, { title: 'barrier' });
    await client.waitForTitle('barrier', from);
    expect(titlesOf(client, from)).not.toContain('rolled back');
    expect(client.notifications.map((n) => n.id)).not.toContain(rolledBack.id);
    expect(titlesOf(client)).toEqual(['plain', 'committed', 'barrier']);

    const page = await client.list({ limit: 100 });
    expect(page.items.map((n) => [n.id, n.title])).toEqual([
      [barrier, 'barrier'],
      [expect.any(String), 'committed'],
      [expect.any(String), 'plain'],
    ]);
  });

  it('fans out through Redis: notify on one instance reaches a socket on another', async () => {
    // A second instance on the same database and Redis, started after the first ran the migrations.
    const second = await start();
    // Sessions live in each instance's memory: bob logs in on both, his socket is on the second.
    const onSecond = await TestClient.connect(second, null, { cookie: await login(second, bob) });
    clients.push(onSecond);
    const bobOnFirst = await login(url, bob);
    // The first instance sees a socket on the second only by asking the others through Redis.
    await until(
      'the first instance sees bob online on the second',
      async () => {
        const res = await fetch(`${url}/online?user=${encodeURIComponent(bob)}`);
        return res.status === 200 && (await res.json()).online === true;
      },
      15_000,
    );
    const from = onSecond.mark();
    const { id } = await post(url, '/notify', bobOnFirst, { title: 'through redis' });
    expect((await onSecond.waitForTitle('through redis', from)).id).toBe(id);
  }, 90_000); // boots an app: seconds when the machine is busy
});
