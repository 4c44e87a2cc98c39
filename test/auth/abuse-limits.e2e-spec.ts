import { ClientEvent, NotificationsGateway, ServerEvent } from 'nestjs-inbox';
import type { Namespace } from 'socket.io';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

describe('abuse limits', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let nsp: Namespace;
  const clients: TestClient[] = [];
  const connect = async (user: string) => {
    const c = await TestClient.connect(t.url, user);
    clients.push(c);
    return c;
  };
  /** Closes a client and resolves once the server has let go of its socket. */
  const closeAndWait = async (c: TestClient) => {
    const gone = new Promise((resolve) => nsp.sockets.get(c.socket.id!)!.once('disconnect', resolve));
    c.close();
    await gone;
  };

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url, {
      eventRateLimit: { burst: 5, perSecond: 0.5 },
      maxMessageBytes: 1024,
      maxConnectionsPerUser: 2,
      canSubscribe: (_user, topic) => {
        if (topic === 'explodes') throw new Error('host bug');
        return topic.startsWith('public:');
      },
    });
    nsp = t.app.get(NotificationsGateway).server;
  });
  afterEach(() => clients.splice(0).forEach((c) => c.close()));
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('rate-limits events per socket with a token bucket, answering RATE_LIMITED', async () => {
    const c = await connect('chatty');
    const answers = await Promise.all(Array.from({ length: 8 }, () => c.request(ClientEvent.List, {})));
    const limited = answers.filter((a) => a.error);
    expect(answers.slice(0, 5).every((a) => Array.isArray(a.items))).toBe(true);
    expect(limited).toEqual(Array(3).fill({ error: { code: 'RATE_LIMITED', message: 'too many events; slow down' } }));
    // Without an ack the refusal comes as an event.
    const from = c.mark();
    c.socket.emit(ClientEvent.List, {});
    expect(await c.waitFor(ServerEvent.Error as any, undefined, { from })).toEqual({
      code: 'RATE_LIMITED',
      message: 'too many events; slow down',
    });
    // Another socket of the same user has its own bucket.
    const other = await connect('chatty');
    expect((await other.list()).items).toEqual([]);
  });

  it('refuses an event over maxMessageBytes before any handler runs', async () => {
    const c = await connect('big-sender');
    const [n] = await t.service.notify('big-sender', { type: 't', title: 'unread' });
    const big = { ids: [n.id], pad: 'x'.repeat(2000) };
    expect(await c.request(ClientEvent.Read, big)).toEqual({
      error: { code: 'PAYLOAD_TOO_LARGE', message: 'event larger than 1024 bytes' },
    });
    expect(await t.service.unreadCount('big-sender')).toBe(1);
    expect(await c.request(ClientEvent.Read, { ids: [n.id] })).toEqual({ changed: 1, unread: 0, unseen: 0 });
  });

  it('survives a message over the engine limit: only that connection is closed', async () => {
    const c = await connect('huge-sender');
    const bystander = await connect('bystander');
    c.socket.emit(ClientEvent.List, { pad: 'x'.repeat(1_100_000) });
    await c.waitFor('disconnect');
    await t.service.notify('bystander', { type: 't', title: 'still served' });
    await bystander.waitForTitle('still served');
  });

  it('caps the sockets of one user, even for parallel handshakes, and frees the slot on close', async () => {
    const attempts = Array.from({ length: 5 }, () => TestClient.open(t.url, 'many-tabs'));
    clients.push(...attempts);
    const outcomes = await Promise.all(
      attempts.map(
        (c) =>
          new Promise<string>((resolve) => {
            c.socket.once('connect', () => resolve('connected'));
            c.socket.once('connect_error', (e: any) => resolve(`${e.data.code}: ${e.message}`));
          }),
      ),
    );
    expect(outcomes.filter((o) => o === 'connected')).toHaveLength(2);
    expect(outcomes.filter((o) => o !== 'connected')).toEqual(
      Array(3).fill('TOO_MANY_CONNECTIONS: too many connections for this user (at most 2)'),
    );
    // Another user is not affected; a closed tab gives its slot back.
    await connect('someone-else');
    await closeAndWait(attempts[outcomes.indexOf('connected')]);
    await connect('many-tabs');
  });

  it('answers malformed client events with INVALID_INPUT and unknown events with nothing, staying up', async () => {
    // Two sockets, so the fuzzing stays within each one's burst of five.
    const [c, d] = [await connect('fuzzer'), await connect('fuzzer')];
    const invalid = async (event: string, payload: unknown, on = c) => (await on.request(event, payload)).error?.code;
    expect(await invalid('notifications:read', { ids: 'all' })).toBe('INVALID_INPUT');
    expect(await invalid('notifications:read', 'not an object')).toBe('INVALID_INPUT');
    expect(await invalid('notifications:read', { ids: ['1'], userId: 'victim' })).toBe('INVALID_INPUT');
    expect(await invalid('notifications:list', { limit: -1 })).toBe('INVALID_INPUT');
    expect(await invalid('notifications:read-all', { userId: 'victim' })).toBe('INVALID_INPUT');
    expect(await invalid('topics:subscribe', { topic: { $ne: null } }, d)).toBe('INVALID_INPUT');
    expect(await invalid('notifications:list', [1, 2, 3], d)).toBe('INVALID_INPUT');
    const from = d.mark();
    d.socket.emit('admin:everything', { userId: 'victim' });
    await t.service.notify('fuzzer', { type: 't', title: 'barrier' });
    await d.waitForTitle('barrier', from);
    expect(d.log.slice(from).map((e) => e.event)).not.toContain('disconnect');
  });

  it('lets the host decide who subscribes to what; a throwing hook answers INTERNAL', async () => {
    const c = await connect('subscriber');
    expect(await c.request(ClientEvent.Subscribe, { topic: 'private:hr' })).toEqual({
      error: { code: 'FORBIDDEN', message: "not allowed to subscribe to topic 'private:hr'" },
    });
    expect((await c.request(ClientEvent.Subscribe, { topic: 'explodes' })).error.code).toBe('INTERNAL');
    expect(await c.request(ClientEvent.Subscribe, { topic: 'public:news' })).toEqual({ ok: true });
    await t.service.publish('private:hr', { type: 't', title: 'salaries' });
    await t.service.publish('public:news', { type: 't', title: 'barrier' });
    await c.waitForTitle('barrier');
    expect(c.notifications.map((n) => n.title)).toEqual(['barrier']);
  });
});
