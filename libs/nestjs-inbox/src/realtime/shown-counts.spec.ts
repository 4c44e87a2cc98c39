import type { Socket } from 'socket.io';
import { userRoom } from '../notifications.internal-constants';
import { type Inbox, inboxKey } from '../persistence/inbox-model';
import type { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent } from '../protocol';
import type { ClusterEvents } from './cluster/cluster-events';
import type { InboxNamespace } from './inbox-namespace';
import { RECOUNT_DELAY_MS } from './recount-batcher';
import { ShownCounts } from './shown-counts';
import { UnreadRecounter } from './unread-recounter';
import type { ViewCounts } from './view-counts';

/** Sockets of one namespace, as far as ShownCounts and UnreadRecounter look at them. */
function namespace() {
  const rooms = new Map<string, Set<string>>();
  const sockets = new Map<string, Socket>();
  /** Frames sent to rooms: `[rooms, event, payload]`. */
  const sent: [string[], string, unknown][] = [];
  const outgoing = new Map<string, (this: Socket, event: string, payload: unknown) => void>();
  const send = (room: string, event: string, payload: unknown) => {
    for (const id of rooms.get(room) ?? []) outgoing.get(id)!.call(sockets.get(id)!, event, payload);
  };
  const nsp = {
    adapter: { rooms },
    sockets,
    local: {
      to: (to: string | string[]) => ({
        emit: (event: string, payload: unknown) => {
          const all = [to].flat();
          sent.push([all, event, payload]);
          for (const room of all) send(room, event, payload);
        },
      }),
    },
  };
  const connect = (shown: ShownCounts, id: string, userId: string) => {
    const socket = {
      id,
      data: { userId },
      nsp,
      onAnyOutgoing: (listener: (this: Socket, event: string, payload: unknown) => void) => outgoing.set(id, listener),
      on: () => socket,
    } as unknown as Socket;
    sockets.set(id, socket);
    rooms.set(userRoom(userId), (rooms.get(userRoom(userId)) ?? new Set()).add(id));
    shown.track(socket);
    /** A frame to this socket alone (the connect's `synced`). */
    return (event: string, payload: unknown) => outgoing.get(id)!.call(socket, event, payload);
  };
  return { nsp, sent, send, connect };
}

describe('ShownCounts', () => {
  it('knows the badge sent to all of a user’s sockets, and no badge once a `synced` to one of them disagrees', () => {
    const { send, connect } = namespace();
    const shown = new ShownCounts();
    const disagreed: string[] = [];
    shown.onDisagreement = (userId) => disagreed.push(userId);
    const toA = connect(shown, 'a', 'u');
    toA(ServerEvent.Synced, { unread: 2, unseen: 1, truncated: false, cursor: null });
    expect(shown.shows('u', { unread: 2, unseen: 1 })).toBe(true);

    const toB = connect(shown, 'b', 'u');
    toB(ServerEvent.Synced, { unread: 2, unseen: 1, truncated: false, cursor: null });
    expect(shown.shows('u', { unread: 2, unseen: 1 })).toBe(true);
    expect(disagreed).toEqual([]);

    const toC = connect(shown, 'c', 'u');
    toC(ServerEvent.Synced, { unread: 3, unseen: 2, truncated: false, cursor: null });
    expect(shown.shows('u', { unread: 2, unseen: 1 })).toBe(false);
    expect(shown.shows('u', { unread: 3, unseen: 2 })).toBe(false);
    expect(shown.raise('u', 1)).toBeUndefined();
    expect(disagreed).toEqual(['u']);

    send(userRoom('u'), ServerEvent.Unread, { count: 3, unseen: 2 });
    expect(shown.shows('u', { unread: 3, unseen: 2 })).toBe(true);
  });
});

describe('UnreadRecounter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = (counted: Map<string, Badge>) => {
    const ns = namespace();
    const shown = new ShownCounts();
    // InboxReadRepository.badges: by inbox, keyed by inboxKey.
    const store = {
      badges: async (inboxes: Inbox[]) =>
        new Map(inboxes.filter((i) => counted.has(i.userId)).map((i) => [inboxKey(i), counted.get(i.userId)!])),
    };
    const recounter = new UnreadRecounter(
      { current: ns.nsp } as unknown as InboxNamespace,
      store as unknown as InboxReadRepository,
      { on: () => undefined, emit: () => undefined } as unknown as ClusterEvents,
      shown,
      { refresh: async () => undefined } as unknown as ViewCounts,
    );
    const unread = () => ns.sent.filter(([, event]) => event === ServerEvent.Unread);
    return { ...ns, shown, recounter, unread };
  };

  it('sends a recount only to the users whose sockets show another badge', async () => {
    const counted = new Map([
      ['same', { unread: 2, unseen: 2 }],
      ['changed', { unread: 5, unseen: 1 }],
    ]);
    const { connect, shown, recounter, unread } = setup(counted);
    connect(shown, 's1', 'same')(ServerEvent.Synced, { unread: 2, unseen: 2 });
    connect(shown, 's2', 'changed')(ServerEvent.Synced, { unread: 4, unseen: 1 });
    recounter.recountHere(['same', 'changed']);
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS);
    expect(unread()).toEqual([[[userRoom('changed')], ServerEvent.Unread, { count: 5, unseen: 1 }]]);
  });

  it('raises every user who sees a broadcast at once, one frame per distinct badge, and its recount sends nothing more', async () => {
    const counted = new Map([
      ['x', { unread: 1, unseen: 1 }],
      ['y', { unread: 1, unseen: 1 }],
      ['z', { unread: 4, unseen: 3 }],
    ]);
    const { connect, shown, recounter, unread } = setup(counted);
    connect(shown, 's1', 'x')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    connect(shown, 's2', 'y')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    connect(shown, 's3', 'z')(ServerEvent.Synced, { unread: 3, unseen: 2 });
    recounter.refreshHere({ users: [], topics: [], all: true, added: { all: { news: 1 }, topics: {} } });
    expect(unread()).toEqual([
      [[userRoom('x'), userRoom('y')], ServerEvent.Unread, { count: 1, unseen: 1 }],
      [[userRoom('z')], ServerEvent.Unread, { count: 4, unseen: 3 }],
    ]);
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS);
    expect(unread()).toHaveLength(2);
  });
});
