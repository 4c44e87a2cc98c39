import { ClientEvent, ServerEvent } from 'nestjs-inbox';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

const USERS = Array.from({ length: 12 }, (_, i) => `iso-${i}`);
const TOPICS = ['iso-topic-a', 'iso-topic-b', 'iso-topic-c'];
/** Even users follow one topic each; odd users follow none. */
const topicOf = (i: number) => (i % 2 === 0 ? TOPICS[(i / 2) % TOPICS.length] : null);

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

describe('isolation: each user gets exactly their own, the broadcasts and their topics', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await t?.close();
    await db?.drop();
  });

  it('delivers many interleaved notify, broadcast and publish calls to exactly the right sockets', async () => {
    for (const [i, user] of USERS.entries()) {
      const topic = topicOf(i);
      if (topic) await t.service.subscribe(user, topic);
    }
    // Two tabs for the first users, one for the others.
    const tabs = new Map<string, TestClient[]>();
    for (const [i, user] of USERS.entries()) {
      const mine = await Promise.all(Array.from({ length: i < 3 ? 2 : 1 }, () => TestClient.connect(t.url, user)));
      tabs.set(user, mine);
      clients.push(...mine);
    }

    const expected = new Map(USERS.map((u) => [u, [] as string[]]));
    const rand = random(42);
    const calls: Promise<unknown>[] = [];
    for (let k = 0; k < 90; k++) {
      const kind = rand();
      if (kind < 0.15) {
        const title = `broadcast-${k}`;
        USERS.forEach((u) => expected.get(u)!.push(title));
        calls.push(t.service.broadcast({ type: 'announcement', title }));
      } else if (kind < 0.35) {
        const topic = TOPICS[Math.floor(rand() * TOPICS.length)];
        const title = `publish-${k}-${topic}`;
        USERS.forEach((u, i) => topicOf(i) === topic && expected.get(u)!.push(title));
        calls.push(t.service.publish(topic, { type: 'subscription', title }));
      } else {
        const to = [...new Set(Array.from({ length: 1 + Math.floor(rand() * 3) }, () => USERS[Math.floor(rand() * USERS.length)]))];
        const title = `direct-${k}-${to.join('+')}`;
        to.forEach((u) => expected.get(u)!.push(title));
        calls.push(t.service.notify(to, { type: 'message', title }));
      }
    }
    await Promise.all(calls);
    // A barrier per user: once it arrives, everything sent before it has arrived too.
    await Promise.all(USERS.map((u) => t.service.notify(u, { type: 'barrier', title: `barrier-${u}` })));

    for (const user of USERS) {
      for (const tab of tabs.get(user)!) {
        await tab.waitForTitle(`barrier-${user}`);
        const got = tab.notifications.map((n) => n.title!).filter((title) => !title.startsWith('barrier-'));
        expect({ user, got: got.sort() }).toEqual({ user, got: [...expected.get(user)!].sort() });
        expect(tab.notifications.filter((n) => n.title!.startsWith('barrier-')).map((n) => n.title)).toEqual([`barrier-${user}`]);
      }
      // The stored view agrees with what was delivered.
      const page = await tabs.get(user)![0].list({ limit: 100 });
      expect(
        page.items
          .map((n) => n.title!)
          .filter((x) => !x.startsWith('barrier-'))
          .sort(),
      ).toEqual([...expected.get(user)!].sort());
    }
  });

  it("gives no client event a way to read or mark another user's notifications", async () => {
    const [alice, mallory] = [await TestClient.connect(t.url, 'iso-alice'), await TestClient.connect(t.url, 'iso-mallory')];
    clients.push(alice, mallory);
    const [secret] = await t.service.notify('iso-alice', { type: 'message', title: 'alice only' });
    const shared = (await t.service.broadcast({ type: 'announcement', title: 'for all' }))!;
    await alice.waitForTitle('for all');
    const aliceFrom = alice.mark();
    const before = await t.service.unreadCount('iso-alice');

    // Mallory names Alice's ids, adds Alice's id to payloads, reads everything she can.
    expect(await mallory.request(ClientEvent.Read, { ids: [secret.id] })).toMatchObject({ changed: 0 });
    expect((await mallory.request(ClientEvent.Read, { ids: [secret.id], userId: 'iso-alice' })).error.code).toBe('INVALID_INPUT');
    expect((await mallory.request(ClientEvent.List, { userId: 'iso-alice' })).error.code).toBe('INVALID_INPUT');
    expect(await mallory.request(ClientEvent.Read, { ids: [shared.id] })).toMatchObject({ changed: 1 });
    for (const event of [ClientEvent.Seen, ClientEvent.Archive, ClientEvent.Unarchive, ClientEvent.Delete]) {
      expect(await mallory.request(event, { ids: [secret.id] }), event).toMatchObject({ changed: 0 });
    }
    // Everything Mallory may see, by watermark and by batch, is hers alone.
    await mallory.request(ClientEvent.Seen, { filter: {} });
    await mallory.request(ClientEvent.Archive, { filter: { type: 'announcement' } });
    await mallory.request(ClientEvent.Delete, { filter: { state: 'all' } });
    expect(await mallory.request(ClientEvent.Counts, { views: { all: {}, alice: { type: 'message' } } })).toEqual({
      counts: { all: 0, alice: 0 },
    });
    await mallory.request(ClientEvent.ReadAll, {});
    const page = await mallory.list({ limit: 100 });
    expect(page.items.map((n) => n.id)).not.toContain(secret.id);
    expect(mallory.notifications.map((n) => n.id)).not.toContain(secret.id);

    // Alice's state did not move, and her tabs were told nothing.
    expect(await t.service.unreadCount('iso-alice')).toBe(before);
    const alicePage = await t.service.list('iso-alice', { limit: 100 });
    expect(alicePage.items.filter((n) => [secret.id, shared.id].includes(n.id)).map((n) => [n.readAt, n.seenAt, n.archived])).toEqual([
      [null, null, false],
      [null, null, false],
    ]);
    await t.service.notify('iso-alice', { type: 'barrier', title: 'alice barrier' });
    await alice.waitForTitle('alice barrier', aliceFrom);
    expect(alice.log.slice(aliceFrom).filter((e) => e.event === ServerEvent.Read || e.event === ServerEvent.State)).toEqual([]);
  });
});
