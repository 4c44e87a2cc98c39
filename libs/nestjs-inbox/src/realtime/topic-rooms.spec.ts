import { inboxRoom, mutedTypeRoom, scopeRoom, topicRoom, userRoom } from '../notifications.internal-constants';
import type { ClusterEvents } from './cluster/cluster-events';
import type { InboxNamespace } from './inbox-namespace';
import { TopicRooms } from './topic-rooms';

/** One instance's sockets and rooms, as far as TopicRooms moves them (no other instance: `clustered` off). */
function namespace() {
  const rooms = new Map<string, Set<string>>();
  const sockets = new Map<
    string,
    { id: string; data: { userId: string; scope: string | null }; join(r: string | string[]): void; leave(r: string): void }
  >();
  const add = (room: string, id: string) => rooms.set(room, (rooms.get(room) ?? new Set()).add(id));
  const remove = (room: string, id: string) => rooms.get(room)?.delete(id);
  const connect = (id: string, userId: string, scope: string | null = null) => {
    sockets.set(id, {
      id,
      data: { userId, scope },
      join: (r) => [r].flat().forEach((room) => add(room, id)),
      leave: (room) => remove(room, id),
    });
    for (const room of [userRoom(userId), inboxRoom({ userId, scope }), ...(scope === null ? [] : [scopeRoom(scope)])]) add(room, id);
  };
  const nsp = {
    adapter: { rooms },
    sockets,
    local: {
      in: (room: string) => ({
        socketsJoin: (join: string[]) => [...(rooms.get(room) ?? [])].forEach((id) => join.forEach((r) => add(r, id))),
        socketsLeave: (leave: string[]) => [...(rooms.get(room) ?? [])].forEach((id) => leave.forEach((r) => remove(r, id))),
      }),
    },
  };
  const members = (room: string) => [...(rooms.get(room) ?? [])].sort();
  const events = { on: () => undefined, emitWithAck: async () => undefined } as unknown as ClusterEvents;
  const topicRooms = new TopicRooms({ current: nsp } as unknown as InboxNamespace, events);
  return { connect, members, topicRooms };
}

describe('TopicRooms', () => {
  it("moves the sockets of a subscription's scope only; an unscoped one every socket of the user", async () => {
    const { connect, members, topicRooms } = namespace();
    connect('acme-1', 'u', 'acme');
    connect('globex-1', 'u', 'globex');
    connect('plain-1', 'u');
    connect('other', 'v', 'acme');
    await topicRooms.join({ userId: 'u', scope: 'acme' }, 'builds');
    expect(members(topicRoom('builds', 'acme'))).toEqual(['acme-1']);
    expect(members(topicRoom('builds'))).toEqual([]);
    await topicRooms.join({ userId: 'u', scope: null }, 'builds');
    expect(members(topicRoom('builds'))).toEqual(['acme-1', 'globex-1', 'plain-1']);
    await topicRooms.leave({ userId: 'u', scope: 'acme' }, 'builds');
    expect(members(topicRoom('builds', 'acme'))).toEqual([]);
    expect(members(topicRoom('builds'))).toEqual(['acme-1', 'globex-1', 'plain-1']);
    await topicRooms.leave({ userId: 'u', scope: null }, 'builds');
    expect(members(topicRoom('builds'))).toEqual([]);
  });

  it('leaves out the sockets of the scopes whose inbox muted the topic', async () => {
    const { connect, members, topicRooms } = namespace();
    connect('acme-1', 'u', 'acme');
    connect('globex-1', 'u', 'globex');
    connect('plain-1', 'u');
    await topicRooms.join({ userId: 'u', scope: null }, 'alerts', ['globex', null]);
    expect(members(topicRoom('alerts'))).toEqual(['acme-1']);
    await topicRooms.join({ userId: 'u', scope: 'globex' }, 'alerts', ['globex']);
    expect(members(topicRoom('alerts', 'globex'))).toEqual([]);
  });

  it("applies preferences to the inbox's sockets only: muted types joined, muted topics left in both forms", async () => {
    const { connect, members, topicRooms } = namespace();
    connect('acme-1', 'u', 'acme');
    connect('plain-1', 'u');
    await topicRooms.join({ userId: 'u', scope: null }, 'news');
    await topicRooms.join({ userId: 'u', scope: 'acme' }, 'deploys');
    await topicRooms.mute(
      { userId: 'u', scope: 'acme' },
      { types: { muted: ['promo'], unmuted: [] }, topics: { muted: ['news', 'deploys'], unmuted: [] } },
    );
    expect(members(mutedTypeRoom('promo'))).toEqual(['acme-1']);
    expect(members(topicRoom('news'))).toEqual(['plain-1']);
    expect(members(topicRoom('deploys', 'acme'))).toEqual([]);
    await topicRooms.mute(
      { userId: 'u', scope: 'acme' },
      {
        types: { muted: [], unmuted: ['promo'] },
        topics: {
          muted: [],
          unmuted: [
            { topic: 'news', scope: null },
            { topic: 'deploys', scope: 'acme' },
          ],
        },
      },
    );
    expect(members(mutedTypeRoom('promo'))).toEqual([]);
    expect(members(topicRoom('news'))).toEqual(['acme-1', 'plain-1']);
    expect(members(topicRoom('deploys', 'acme'))).toEqual(['acme-1']);
  });
});
