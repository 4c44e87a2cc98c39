import type { Filter } from '../protocol';
import { Counts } from './counts';
import type { InboxEvents } from './inbox-events';
import { TypedEmitter } from './typed-emitter';

/** A watch request the test answers by hand, in any order. */
interface Pending {
  views: Record<string, Filter>;
  resolve: (counts: Record<string, number>) => void;
  reject: (err: Error) => void;
}

function setup() {
  const link = { connected: false, connections: 0 };
  const requests: Pending[] = [];
  const events = new TypedEmitter<InboxEvents>();
  const emitted: { unread: number[]; unseen: number[]; counts: Readonly<Record<string, number>>[] } = {
    unread: [],
    unseen: [],
    counts: [],
  };
  events.on('unread', (n) => emitted.unread.push(n));
  events.on('unseen', (n) => emitted.unseen.push(n));
  events.on('counts', (c) => emitted.counts.push(c));
  const watch = (views: Record<string, Filter>) =>
    new Promise<Record<string, number>>((resolve, reject) => requests.push({ views, resolve, reject }));
  const counts = new Counts(link, watch, events);
  /** A new connection, caught up: what the client does on `notifications:synced`. */
  const reconnect = () => {
    link.connections++;
    link.connected = true;
    counts.rewatch();
  };
  return { link, requests, emitted, counts, reconnect };
}

describe('Counts', () => {
  it('emits a badge only when it changes; a missing unseen count leaves it', () => {
    const { counts, emitted } = setup();
    counts.setBadges(0, 0);
    counts.setBadges(3, 2);
    counts.setBadges(3, 2);
    counts.setBadges(2);
    expect(emitted.unread).toEqual([3, 2]);
    expect(emitted.unseen).toEqual([2]);
    expect([counts.unread, counts.unseen]).toEqual([2, 2]);
  });

  it('resolves a watch with the counts of the views named, and emits them once', async () => {
    const { counts, requests, emitted } = setup();
    const views = { all: {}, mentions: { type: 'mention' } };
    const watching = counts.watch(views);
    expect(requests[0].views).toEqual(views);
    expect(requests[0].views).not.toBe(views);
    requests[0].resolve({ all: 4, mentions: 1, other: 9 });
    await expect(watching).resolves.toEqual({ all: 4, mentions: 1 });
    expect(emitted.counts).toEqual([{ all: 4, mentions: 1 }]);
  });

  it('takes pushed counts for watched views only, emitting when one changed', async () => {
    const { counts, requests, emitted } = setup();
    const watching = counts.watch({ all: {}, mentions: { type: 'mention' } });
    requests[0].resolve({ all: 4, mentions: 1 });
    await watching;
    counts.pushed({ mentions: 2, stranger: 7 });
    counts.pushed({ mentions: 2 });
    expect(counts.views).toEqual({ all: 4, mentions: 2 });
    expect(emitted.counts).toEqual([
      { all: 4, mentions: 1 },
      { all: 4, mentions: 2 },
    ]);
  });

  it('lets a newer watch replace an older one whose answer comes later', async () => {
    const { counts, requests } = setup();
    const older = counts.watch({ a: {} });
    const newer = counts.watch({ b: {} });
    requests[1].resolve({ b: 2 });
    await newer;
    requests[0].resolve({ a: 1 });
    await older;
    expect(counts.views).toEqual({ b: 2 });
  });

  it('stops with {}: the counts empty, pushes ignored, nothing watched again', async () => {
    const { counts, requests, emitted, reconnect } = setup();
    const watching = counts.watch({ a: {} });
    requests[0].resolve({ a: 1 });
    await watching;
    const stopping = counts.watch({});
    requests[1].resolve({});
    await stopping;
    counts.pushed({ a: 5 });
    reconnect();
    expect(counts.views).toEqual({});
    expect(emitted.counts).toEqual([{ a: 1 }, {}]);
    expect(requests).toHaveLength(2);
  });

  it('watches again after each new connection, not on the one the request went out on', async () => {
    const { counts, requests, reconnect } = setup();
    reconnect(); // connection 1
    const watching = counts.watch({ a: {} });
    requests[0].resolve({ a: 1 });
    await watching;
    counts.rewatch(); // connection 1 again: a second catch-up on the same socket changes nothing
    expect(requests).toHaveLength(1);
    reconnect(); // connection 2: the server forgot the views with the old socket
    expect(requests).toHaveLength(2);
    expect(requests[1].views).toEqual({ a: {} });
    requests[1].resolve({ a: 3 });
    await vi.waitFor(() => expect(counts.views).toEqual({ a: 3 }));
  });

  it('counts a watch made while disconnected as sent on the next connection, which does not send it twice', () => {
    const { counts, requests, link, reconnect } = setup();
    link.connections = 1; // connection 1 dropped
    void counts.watch({ a: {} });
    reconnect(); // connection 2 carries the buffered request
    expect(requests).toHaveLength(1);
  });

  it('keeps a failed re-watch to itself (no unhandled rejection)', async () => {
    const { counts, requests, reconnect } = setup();
    reconnect();
    const watching = counts.watch({ a: {} });
    requests[0].resolve({ a: 1 });
    await watching;
    reconnect();
    requests[1].reject(new Error('not connected'));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(counts.views).toEqual({ a: 1 });
  });
});
