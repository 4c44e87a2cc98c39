import { ClientEvent, NotificationsGateway, ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/** The handshake's `auth.scope`: checked, then allowed only by the host's `canAccessScope`. */
describe('scope handshake', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  /** Without `canAccessScope`. */
  let plain: TestApp;
  /** With a `canAccessScope` that lets alice into acme only, and throws for 'boom'. */
  let host: TestApp;
  const asked: [string, string][] = [];
  const clients: TestClient[] = [];
  const connect = async (t: TestApp, user: string, scope?: unknown) => {
    const c = await TestClient.connect(t.url, user, { scope });
    clients.push(c);
    return c;
  };
  /** Sockets of `userId` the gateway of `t` holds on this instance. */
  const socketsOf = (t: TestApp, userId: string) =>
    [...t.app.get(NotificationsGateway).server.sockets.values()].filter((s) => s.data.userId === userId);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    [plain, host] = await Promise.all([
      startApp(db.url),
      startApp(db.url, {
        canAccessScope: async (userId, scope) => {
          asked.push([userId, scope]);
          if (scope === 'boom') throw new Error('directory down');
          return userId === 'alice' && scope === 'acme';
        },
      }),
    ]);
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await Promise.all([plain?.close(), host?.close()]);
    await db?.drop();
  });

  it('lets an unscoped socket in, without asking the host (absent or null)', async () => {
    await connect(plain, 'alice');
    await connect(plain, 'alice', null);
    await connect(host, 'alice', null);
    expect(asked).toEqual([]);
    expect(socketsOf(host, 'alice').map((s) => s.data.scope)).toEqual([null]);
  });

  it('refuses every scope with FORBIDDEN when the host has no canAccessScope', async () => {
    const err = await TestClient.refusal(plain.url, 'alice', { scope: 'acme' });
    expect(err.data).toEqual({ code: 'FORBIDDEN' });
    expect(err.message).toContain('auth.scope');
  });

  it('lets a socket into a scope the host allows, and keeps the scope on the socket', async () => {
    await connect(host, 'alice', 'acme');
    expect(asked).toContainEqual(['alice', 'acme']);
    expect(socketsOf(host, 'alice').map((s) => s.data.scope)).toEqual(['acme']);
  });

  it("acts on the socket's own inbox only: a query may not name a scope", async () => {
    await host.service.notify('alice', { type: 't', title: 'in acme', scope: 'acme' });
    await host.service.notify('alice', { type: 't', title: 'in globex', scope: 'globex' });
    const inAcme = await connect(host, 'alice', 'acme');
    const unscoped = await connect(host, 'alice');
    for (const c of [inAcme, unscoped]) {
      expect(await c.request(ClientEvent.List, { scope: 'globex' })).toMatchObject({ error: { code: 'INVALID_INPUT' } });
    }
    expect((await inAcme.list()).items.map((n) => n.title)).toEqual(['in acme']);
    expect((await unscoped.list()).items.map((n) => n.title)).toEqual([]);
    expect(inAcme.notifications.map((n) => n.title)).toEqual(['in acme']);
  });

  it('refuses with FORBIDDEN a scope the host says no to, or throws for', async () => {
    for (const [user, scope] of [
      ['alice', 'globex'],
      ['bob', 'acme'],
      ['alice', 'boom'],
    ]) {
      const err = await TestClient.refusal(host.url, user, { scope });
      expect(err.data, `${user} in ${scope}`).toEqual({ code: 'FORBIDDEN' });
    }
  });

  it('refuses a bad scope with INVALID_INPUT naming auth.scope, before asking the host', async () => {
    asked.length = 0;
    for (const scope of ['', 'x'.repeat(201), 42, { id: 'acme' }, ['acme'], true, 'a\0b', 'lone \ud800 half']) {
      const err = await TestClient.refusal(host.url, 'alice', { scope });
      expect(err.data, JSON.stringify(scope)).toEqual({ code: 'INVALID_INPUT' });
      expect(err.message).toMatch(/^auth\.scope: /);
    }
    expect(asked).toEqual([]);
    // 200 characters is a scope (refused by the host here, not by the check).
    expect((await TestClient.refusal(host.url, 'alice', { scope: 'x'.repeat(200) })).data).toEqual({ code: 'FORBIDDEN' });
  });

  it('never lets a refused socket into a room: a broadcast after the refusal does not reach it', async () => {
    const refused = TestClient.open(host.url, 'mallory', { scope: 'acme' });
    clients.push(refused);
    await refused.waitFor('connect_error');
    const witness = await connect(host, 'witness');
    const from = witness.mark();
    await host.service.broadcast({ type: 'announcement', title: 'after the refusal' });
    await witness.waitForTitle('after the refusal', from);
    expect(refused.notifications).toEqual([]);
    expect(refused.socket.connected).toBe(false);
    expect(socketsOf(host, 'mallory')).toEqual([]);
  });

  it('closes an open socket once the host no longer gives its scope, at the session re-check; keeps it while the host cannot answer', async () => {
    let member = true;
    let failing = false;
    let asks = 0;
    let asked: () => void = () => undefined;
    const rechecked = () => new Promise<void>((resolve) => (asked = resolve));
    const t = await startApp(db.url, {
      sessionRecheckMs: 100,
      sessionTimeoutMs: 300,
      canAccessScope: (userId, scope) => {
        if (scope === 'slow') return new Promise<boolean>(() => undefined);
        asks++;
        asked();
        if (failing) throw new Error('directory down');
        return member && userId === 'carol' && scope === 'acme';
      },
    });
    try {
      const c = await connect(t, 'carol', 'acme');
      // The host's directory is down: two re-checks later the socket is still open.
      failing = true;
      const before = asks;
      while (asks < before + 2) await rechecked();
      expect(c.socket.connected).toBe(true);
      failing = false;
      member = false;
      const err = await c.waitFor(ServerEvent.Error);
      expect(err).toEqual({ code: 'FORBIDDEN', message: 'auth.scope: no longer allowed in this scope' });
      await c.waitFor('disconnect');
      // And it may not come back.
      expect((await TestClient.refusal(t.url, 'carol', { scope: 'acme' })).data).toEqual({ code: 'FORBIDDEN' });
      // A host that does not answer within sessionTimeoutMs refuses too.
      expect((await TestClient.refusal(t.url, 'carol', { scope: 'slow' })).data).toEqual({ code: 'FORBIDDEN' });
    } finally {
      await t.close();
    }
  });
});
