import type { Socket } from 'socket.io';
import { inboxRoom, scopeRoom, userRoom } from '../notifications.internal-constants';
import { inboxKey, type Inbox } from '../persistence/inbox-model';
import type { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent } from '../protocol';
import type { ClusterEvents } from './cluster/cluster-events';
import type { InboxNamespace } from './inbox-namespace';
import { RECOUNT_DELAY_MS, RECOUNT_MIN_INTERVAL_MS } from './recount-batcher';
import { ShownCounts } from './shown-counts';
import { UnreadRecounter } from './unread-recounter';
import type { ViewCounts } from './view-counts';

/** Sockets of one namespace, as far as ShownCounts and UnreadRecounter look at them. */
function namespace() {
  const rooms = new Map<string, Set<string>>();
  const sockets = new Map<string, Socket>();
  /** Frames sent to rooms: `[rooms, event, payload]`. */
  const sent: [string[], string, unknown][] = [];
  const outgoing = new Map<string, (this: Socket, event: string, payload: unknown, ...rest: unknown[]) => void>();
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
  const join = (room: string, id: string) => rooms.set(room, (rooms.get(room) ?? new Set()).add(id));
  const connect = (shown: ShownCounts, id: string, userId: string, scope: string | null = null) => {
    const socket = {
      id,
      data: { userId, scope },
      nsp,
      onAnyOutgoing: (listener: (this: Socket, event: string, payload: unknown) => void) => outgoing.set(id, listener),
      on: () => socket,
    } as unknown as Socket;
    sockets.set(id, socket);
    join(userRoom(userId), id);
    join(inboxRoom({ userId, scope }), id);
    if (scope !== null) join(scopeRoom(scope), id);
    shown.track(socket);
    /** A frame to this socket alone (the connect's `synced`). */
    return (event: string, payload: unknown, ...rest: unknown[]) => outgoing.get(id)!.call(socket, event, payload, ...rest);
  };
  return { nsp, sent, send, connect };
}

/** The inboxKey of user `u` unscoped, or in `scope`. */
const key = (userId: string, scope: string | null = null) => inboxKey({ userId, scope });
const room = (userId: string, scope: string | null = null) => inboxRoom({ userId, scope });

describe('ShownCounts', () => {
  it('knows the badge sent to all of a user’s sockets, and no badge once a `synced` to one of them disagrees', () => {
    const { send, connect } = namespace();
    const shown = new ShownCounts();
    const disagreed: string[] = [];
    shown.onDisagreement = (userId) => disagreed.push(userId);
    const toA = connect(shown, 'a', 'u');
    toA(ServerEvent.Synced, { unread: 2, unseen: 1, truncated: false, cursor: null });
    expect(shown.shows(key('u'), { unread: 2, unseen: 1 })).toBe(true);

    const toB = connect(shown, 'b', 'u');
    toB(ServerEvent.Synced, { unread: 2, unseen: 1, truncated: false, cursor: null });
    expect(shown.shows(key('u'), { unread: 2, unseen: 1 })).toBe(true);
    expect(disagreed).toEqual([]);

    const toC = connect(shown, 'c', 'u');
    toC(ServerEvent.Synced, { unread: 3, unseen: 2, truncated: false, cursor: null });
    expect(shown.shows(key('u'), { unread: 2, unseen: 1 })).toBe(false);
    expect(shown.shows(key('u'), { unread: 3, unseen: 2 })).toBe(false);
    expect(shown.raise(key('u'), 1)).toBeUndefined();
    expect(disagreed).toEqual([key('u')]);

    send(room('u'), ServerEvent.Unread, { count: 3, unseen: 2 });
    expect(shown.shows(key('u'), { unread: 3, unseen: 2 })).toBe(true);
  });

  it('keeps a badge per scope of a user: a scope’s synced neither disagrees with nor replaces another’s', () => {
    const { connect } = namespace();
    const shown = new ShownCounts();
    const disagreed: string[] = [];
    shown.onDisagreement = (k) => disagreed.push(k);
    connect(shown, 'a', 'u', 'acme')(ServerEvent.Synced, { unread: 2, unseen: 2 });
    connect(shown, 'b', 'u', 'globex')(ServerEvent.Synced, { unread: 7, unseen: 5 });
    connect(shown, 'c', 'u')(ServerEvent.Synced, { unread: 1, unseen: 1 });
    expect(disagreed).toEqual([]);
    expect(shown.shows(key('u', 'acme'), { unread: 2, unseen: 2 })).toBe(true);
    expect(shown.shows(key('u', 'globex'), { unread: 7, unseen: 5 })).toBe(true);
    expect(shown.shows(key('u'), { unread: 1, unseen: 1 })).toBe(true);
    expect(shown.raise(key('u', 'acme'), 1)).toEqual({ unread: 3, unseen: 3 });
  });

  it('takes the badge a notification carries as its second argument (auth.inlineBadge); one without changes nothing', () => {
    const { connect } = namespace();
    const shown = new ShownCounts();
    const toA = connect(shown, 'a', 'u');
    toA(ServerEvent.Synced, { unread: 2, unseen: 1 });
    toA(ServerEvent.Notification, { id: '1', title: 'plain' });
    expect(shown.shows(key('u'), { unread: 2, unseen: 1 })).toBe(true);
    toA(ServerEvent.Notification, { id: '2', title: 'with badge' }, { count: 3, unseen: 2 });
    expect(shown.shows(key('u'), { unread: 3, unseen: 2 })).toBe(true);
    expect(shown.known(key('u'))).toBe(true);
    shown.forget(key('u'));
    expect(shown.known(key('u'))).toBe(false);
  });
});

describe('UnreadRecounter', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  const setup = (counted: Map<string, Badge>) => {
    const ns = namespace();
    const shown = new ShownCounts();
    /** Badges by inboxKey. */
    const store = {
      badges: async (inboxes: Inbox[]) =>
        new Map(inboxes.map(inboxKey).flatMap((k) => (counted.has(k) ? [[k, counted.get(k)!] as const] : []))),
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
      [key('same'), { unread: 2, unseen: 2 }],
      [key('changed'), { unread: 5, unseen: 1 }],
    ]);
    const { connect, shown, recounter, unread } = setup(counted);
    connect(shown, 's1', 'same')(ServerEvent.Synced, { unread: 2, unseen: 2 });
    connect(shown, 's2', 'changed')(ServerEvent.Synced, { unread: 4, unseen: 1 });
    recounter.recountHere(['same', 'changed']);
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS);
    expect(unread()).toEqual([[[room('changed')], ServerEvent.Unread, { count: 5, unseen: 1 }]]);
  });

  it('recounts a user in every scope they have sockets in here, each inbox its own badge', async () => {
    const counted = new Map([
      [key('u', 'acme'), { unread: 3, unseen: 3 }],
      [key('u', 'globex'), { unread: 1, unseen: 1 }],
      [key('u'), { unread: 0, unseen: 0 }],
    ]);
    const { connect, shown, recounter, unread } = setup(counted);
    connect(shown, 's1', 'u', 'acme')(ServerEvent.Synced, { unread: 2, unseen: 2 });
    connect(shown, 's2', 'u', 'globex')(ServerEvent.Synced, { unread: 2, unseen: 2 });
    connect(shown, 's3', 'u')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    recounter.markStale(['u']);
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS);
    expect(unread()).toEqual([
      [[room('u', 'acme')], ServerEvent.Unread, { count: 3, unseen: 3 }],
      [[room('u', 'globex')], ServerEvent.Unread, { count: 1, unseen: 1 }],
    ]);
  });

  it('raises only the sockets in the room of a scoped broadcast', () => {
    const { connect, shown, recounter, unread } = setup(new Map());
    connect(shown, 's1', 'x', 'acme')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    connect(shown, 's2', 'x', 'globex')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    connect(shown, 's3', 'y', 'acme')(ServerEvent.Synced, { unread: 1, unseen: 0 });
    recounter.refreshHere({
      users: [],
      rooms: [scopeRoom('acme')],
      all: false,
      added: { all: {}, rooms: { [scopeRoom('acme')]: { news: 2 } } },
    });
    expect(unread()).toEqual([
      [[room('x', 'acme')], ServerEvent.Unread, { count: 2, unseen: 2 }],
      [[room('y', 'acme')], ServerEvent.Unread, { count: 3, unseen: 2 }],
    ]);
  });

  it('raises every user who sees a broadcast at once, one frame per distinct badge, and its recount sends nothing more', async () => {
    const counted = new Map([
      [key('x'), { unread: 1, unseen: 1 }],
      [key('y'), { unread: 1, unseen: 1 }],
      [key('z'), { unread: 4, unseen: 3 }],
    ]);
    const { connect, shown, recounter, unread } = setup(counted);
    connect(shown, 's1', 'x')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    connect(shown, 's2', 'y')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    connect(shown, 's3', 'z')(ServerEvent.Synced, { unread: 3, unseen: 2 });
    recounter.refreshHere({ users: [], rooms: [], all: true, added: { all: { news: 1 }, rooms: {} } });
    expect(unread()).toEqual([
      [[room('x'), room('y')], ServerEvent.Unread, { count: 1, unseen: 1 }],
      [[room('z')], ServerEvent.Unread, { count: 4, unseen: 3 }],
    ]);
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS);
    expect(unread()).toHaveLength(2);
  });

  it('reads again an inbox whose badge was raised while its count was read, and sends what it finds then', async () => {
    const counted = new Map([[key('u'), { unread: 1, unseen: 1 }]]);
    const { connect, shown, recounter, unread } = setup(counted);
    const toS1 = connect(shown, 's1', 'u');
    toS1(ServerEvent.Synced, { unread: 0, unseen: 0 });
    recounter.markStale(['u']);
    // The read starts after the delay; a notification goes out with its raised badge (InlineBadges) before it ends.
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS - 1);
    vi.advanceTimersByTime(1);
    expect(shown.raise(key('u'), 1)).toEqual({ unread: 1, unseen: 1 });
    toS1(ServerEvent.Notification, { id: '1' }, { count: 1, unseen: 1 });
    await vi.advanceTimersByTimeAsync(0);
    expect(unread()).toEqual([]);
    // A read elsewhere crossed it: the second read finds it and sends it.
    counted.set(key('u'), { unread: 0, unseen: 0 });
    await vi.advanceTimersByTimeAsync(RECOUNT_MIN_INTERVAL_MS);
    expect(unread()).toEqual([[[room('u')], ServerEvent.Unread, { count: 0, unseen: 0 }]]);
  });

  it('forgets the badges of a recount that failed, so no raise builds on them', async () => {
    const { connect, shown, recounter } = setup(new Map());
    const failing = recounter as unknown as { reads: { badges: () => Promise<never> } };
    failing.reads.badges = () => Promise.reject(new Error('database down'));
    connect(shown, 's1', 'u')(ServerEvent.Synced, { unread: 0, unseen: 0 });
    recounter.markStale(['u']);
    await vi.advanceTimersByTimeAsync(RECOUNT_DELAY_MS);
    expect(shown.known(key('u'))).toBe(false);
  });
});
