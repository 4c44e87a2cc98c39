import { ClientEvent, ServerEvent } from 'nestjs-inbox';
import { InboxReadRepository } from '../../libs/nestjs-inbox/src/persistence/repositories/inbox-read.repository';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';

/**
 * `notifications:counts` sent twice in a row on one socket: the later request decides what the
 * socket watches, even when the earlier one's count is read last (its answer then changes nothing).
 */
describe('watching view counts', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let client: TestClient | undefined;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterEach(() => client?.close());
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it('keeps the newer watch when the older one is answered last', async () => {
    await t.service.notify('race-1', { type: 'b', title: 'first b' });
    client = await TestClient.connect(t.url, 'race-1');

    // The first watch's count is held (in the server) until the second watch has been answered.
    const reads = t.app.get(InboxReadRepository);
    const count = reads.counts.bind(reads);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let calls = 0;
    let firstStarted!: () => void;
    const started = new Promise<void>((resolve) => (firstStarted = resolve));
    reads.counts = async (...args) => {
      if (++calls === 1) {
        firstStarted();
        await held;
      }
      return count(...args);
    };
    try {
      const older = client.request(ClientEvent.Counts, { views: { x: { type: 'a' } } });
      await started;
      expect(await client.request(ClientEvent.Counts, { views: { x: { type: 'b' } } })).toEqual({ counts: { x: 1 } });
      release();
      // The older request is still answered, with its own views' count (a client drops it as stale).
      expect(await older).toEqual({ counts: { x: 0 } });
    } finally {
      release();
      reads.counts = count;
    }

    // What the socket watches is `type: 'b'`: a 'b' changes its count, an 'a' does not. Were it
    // still watching `type: 'a'`, the 'b' would push nothing and the 'a' would push `{ x: 1 }`.
    const from = client.mark();
    await t.service.notify('race-1', { type: 'b', title: 'second b' });
    await t.service.notify('race-1', { type: 'a', title: 'an a' });
    await client.waitForTitle('an a', from);
    expect(await client.waitFor(ServerEvent.Counts, () => true, { from })).toEqual({ counts: { x: 2 } });
    // One more, through the same path, to be sure no push of the older view was queued behind it.
    const next = client.mark();
    await t.service.notify('race-1', { type: 'b', title: 'third b' });
    expect(await client.waitFor(ServerEvent.Counts, () => true, { from: next })).toEqual({ counts: { x: 3 } });
    expect(client.log.slice(from).filter((e) => e.event === ServerEvent.Counts)).toEqual([
      { event: ServerEvent.Counts, payload: { counts: { x: 2 } } },
      { event: ServerEvent.Counts, payload: { counts: { x: 3 } } },
    ]);
  });
});
