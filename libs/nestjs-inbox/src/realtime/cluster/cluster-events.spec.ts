import { ClusterEvent, ClusterEvents, mergeAudiences } from './cluster-events';
import type { RedisFanout } from './redis-fanout';

describe('mergeAudiences', () => {
  it('takes every user and room once, `all` if any, and adds up the new notifications by key', () => {
    expect(
      mergeAudiences([
        { users: ['a', 'b'], rooms: ['t'], all: false, added: { all: {}, rooms: { t: { news: 1 } } } },
        { users: ['b', 'c'], rooms: [], all: false },
        { users: [], rooms: ['t', 'u'], all: true, added: { all: { news: 2 }, rooms: { t: { news: 1, ad: 1 }, u: { ad: 3 } } } },
      ]),
    ).toEqual({
      users: ['a', 'b', 'c'],
      rooms: ['t', 'u'],
      all: true,
      added: { all: { news: 2 }, rooms: { t: { news: 2, ad: 1 }, u: { ad: 3 } } },
    });
  });

  it('leaves `added` out when no audience had new notifications (a read)', () => {
    expect(
      mergeAudiences([
        { users: ['a'], rooms: [], all: false },
        { users: ['a'], rooms: [], all: false },
      ]),
    ).toEqual({
      users: ['a'],
      rooms: [],
      all: false,
    });
  });
});

describe('ClusterEvents', () => {
  const setup = () => {
    const sent: [string, unknown][] = [];
    const events = new ClusterEvents({ enabled: true, up: true } as RedisFanout);
    events.listen({
      on: () => undefined,
      serverSideEmit: (event: string, payload: unknown) => sent.push([event, payload]),
      serverSideEmitWithAck: async (event: string, payload: unknown) => void sent.push([event, payload]),
    } as never);
    return { events, sent };
  };

  it('sends the Stale audiences of one tick as one message', async () => {
    const { events, sent } = setup();
    events.emit(ClusterEvent.Stale, { users: ['a'], rooms: [], all: false });
    events.emit(ClusterEvent.Stale, { users: ['b'], rooms: [], all: false });
    expect(sent).toEqual([]);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sent).toEqual([[ClusterEvent.Stale, { users: ['a', 'b'], rooms: [], all: false }]]);
  });

  it('sends pending Stale audiences before any other event, in order', async () => {
    const { events, sent } = setup();
    events.emit(ClusterEvent.Stale, { users: ['a'], rooms: [], all: false });
    await events.emitWithAck(ClusterEvent.Topic, { userId: 'a', join: ['t'], leave: [] } as never);
    events.emit(ClusterEvent.Disconnect, { userId: 'a', before: 1 });
    await new Promise((resolve) => process.nextTick(resolve));
    expect(sent.map(([e]) => e)).toEqual([ClusterEvent.Stale, ClusterEvent.Topic, ClusterEvent.Disconnect]);
  });
});
