import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { inboxRoom, mutedTypeRoom, userRoom } from '../notifications.internal-constants';
import { inboxKey, inboxOfKey } from '../persistence/inbox-model';
import { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent } from '../protocol';
import { Audience, ClusterEvent, ClusterEvents } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';
import { RecountBatcher } from './recount-batcher';
import { ShownCounts } from './shown-counts';
import { ViewCounts } from './view-counts';

/** Inboxes whose unread count is recomputed per query. */
const RECOUNT_CHUNK = 1000;

/**
 * Keeps the badges right: after a change, every instance recounts the unread notifications of
 * the inboxes concerned that have a socket on it (so nobody is counted twice, and offline users
 * not at all), in batches (see RecountBatcher), and emits each count that differs from what
 * that inbox's sockets here show (ShownCounts). An inbox is a user in a scope (or unscoped):
 * a change of a user's state is recounted in every scope the user has sockets in here, since
 * a change in one scope changes the others' counts when it touched unscoped notifications.
 *
 * A broadcast or a publication concerns every inbox online (or a room's): recounting thousands
 * takes most of a second at 10M rows. A new notification is unread for everyone who sees it, so
 * each of those inboxes' sockets is sent the count it shows plus the new ones at once (one frame
 * per distinct count), and the recount that follows confirms it without a frame (or corrects
 * it, if a read crossed the delivery).
 */
@Injectable()
export class UnreadRecounter implements OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  /** Batches inboxKeys. */
  private readonly batcher = new RecountBatcher((keys) => this.recount(keys));
  private closing = false;

  constructor(
    private readonly namespace: InboxNamespace,
    private readonly reads: InboxReadRepository,
    private readonly events: ClusterEvents,
    private readonly shown: ShownCounts,
    private readonly views: ViewCounts,
  ) {
    events.on(ClusterEvent.Stale, (audience) => this.refreshHere(audience));
    shown.onDisagreement = (key) => this.batcher.add([key]);
  }

  /**
   * Shutting down: nothing more is recounted, and a recount still running when the DataSource
   * closes is not reported (the sockets are closing too).
   */
  onModuleDestroy(): void {
    this.closing = true;
    this.batcher.stop();
  }

  /** These audiences' counts changed: recount here, and on every other instance through Redis. */
  refresh(audience: Audience): void {
    if (!this.namespace.current || nobody(audience)) return;
    this.refreshHere(audience);
    this.events.emit(ClusterEvent.Stale, audience);
  }

  /** These users' counts changed, in any of their scopes: every instance recounts each of their inboxes it has sockets of. */
  markStale(userIds: Iterable<string>): void {
    this.refresh({ users: [...userIds], rooms: [], all: false });
  }

  /** Schedules a recount for every inbox of these users with a socket on this instance. */
  recountHere(userIds: Iterable<string>): void {
    const nsp = this.namespace.current;
    if (!nsp) return;
    const keys = new Set<string>();
    for (const userId of userIds) {
      for (const id of nsp.adapter.rooms.get(userRoom(userId)) ?? []) {
        const key = inboxKeyOf(nsp.sockets.get(id));
        if (key) keys.add(key);
      }
    }
    this.batcher.add(keys);
  }

  /**
   * These audiences' counts changed: recount for this instance's sockets only (what every
   * instance is told, or knows by itself). The local inboxes of each audience are looked up
   * once, for the immediate raise and for the recount.
   */
  refreshHere({ users, rooms = [], all, added }: Audience): void {
    const nsp = this.namespace.current;
    if (!nsp || nobody({ users, rooms, all })) return;
    const everyone = all ? this.inboxesIn(null) : undefined;
    const byRoom = new Map([...new Set(rooms)].map((room) => [room, this.inboxesIn(room)]));
    if (added) this.raiseShown(added, everyone, byRoom);
    if (everyone) return this.batcher.add(everyone);
    const keys = new Set<string>();
    for (const inRoom of byRoom.values()) for (const key of inRoom) keys.add(key);
    this.batcher.add(keys);
    this.recountHere(users);
  }

  /**
   * Sends each local inbox that sees the new broadcasts or publications the badge it shows plus
   * those, leaving out the types it muted (a muted topic's inboxes are not in its room).
   */
  private raiseShown(added: NonNullable<Audience['added']>, everyone: Set<string> | undefined, byRoom: Map<string, Set<string>>): void {
    const raise = new Map<string, number>();
    const add = (keys: Iterable<string>, byType: Record<string, number>) => {
      for (const [type, n] of Object.entries(byType)) {
        const muted = this.inboxesIn(mutedTypeRoom(type));
        for (const key of keys) if (!muted.has(key)) raise.set(key, (raise.get(key) ?? 0) + n);
      }
    };
    add(everyone ?? [], added.all);
    // `rooms` may be absent from an instance of a version before scopes (a rolling deploy): never a throw here.
    for (const [room, byType] of Object.entries(added.rooms ?? {})) add(byRoom.get(room) ?? [], byType);
    const raised: [string, Badge][] = [];
    for (const [key, n] of raise) {
      const badge = this.shown.raise(key, n);
      if (badge !== undefined) raised.push([key, badge]);
    }
    this.send(raised);
  }

  /**
   * Sends each inbox's sockets here their badge: inboxes with the same badge get one frame,
   * encoded once (a broadcast raises everyone, and most of them to the same count).
   */
  private send(badges: Iterable<[string, Badge]>): void {
    const byBadge = new Map<string, { badge: Badge; rooms: string[] }>();
    for (const [key, badge] of badges) {
      const group = byBadge.get(`${badge.unread} ${badge.unseen}`) ?? { badge, rooms: [] };
      byBadge.set(`${badge.unread} ${badge.unseen}`, group);
      group.rooms.push(inboxRoom(inboxOfKey(key)));
    }
    const local = this.namespace.current?.local;
    for (const { badge, rooms } of byBadge.values())
      local?.to(rooms).emit(ServerEvent.Unread, { count: badge.unread, unseen: badge.unseen });
  }

  /** The inboxes (inboxKey) with a socket in `room` on this instance (`null`: any socket). */
  private inboxesIn(room: string | null): Set<string> {
    const keys = new Set<string>();
    const nsp = this.namespace.current;
    if (!nsp) return keys;
    const ids = room === null ? nsp.sockets.keys() : (nsp.adapter.rooms.get(room) ?? []);
    for (const id of ids) {
      const key = inboxKeyOf(nsp.sockets.get(id));
      if (key) keys.add(key);
    }
    return keys;
  }

  private async recount(keys: string[]): Promise<void> {
    try {
      for (let i = 0; i < keys.length; i += RECOUNT_CHUNK) {
        const chunk = keys.slice(i, i + RECOUNT_CHUNK);
        const inboxes = chunk.map(inboxOfKey);
        const versions = chunk.map((key) => this.shown.version(key));
        const badges = await this.reads.badges(inboxes);
        const changed: [string, Badge][] = [];
        const again: string[] = [];
        chunk.forEach((key, k) => {
          const badge = badges.get(key);
          // Raised while this was read: the count read may lack what raised it, so it is read
          // again (a raise with the badge in the notification's frame schedules no recount of
          // its own; a change it did not know of must still be sent). A badge the sockets show
          // already (a raise that was right) is not sent again.
          if (badge !== undefined && this.shown.version(key) !== versions[k]) again.push(key);
          if (badge === undefined || this.shown.version(key) !== versions[k] || this.shown.shows(key, badge)) return;
          changed.push([key, badge]);
        });
        this.batcher.add(again);
        this.send(changed);
        await this.views.refresh(inboxes);
      }
    } catch (err) {
      // Their badges may lack the change: not raised from until a recount sends one (InlineBadges).
      for (const key of keys) this.shown.forget(key);
      if (!this.closing) this.logger.warn(`unread counts not refreshed: ${(err as Error).message}`);
    }
  }
}

/**
 * Whether an audience concerns nobody: every row of a delivery reached its inboxes with their
 * badge (InlineBadges), so there is nothing to raise or recount, here or elsewhere (bench 2: the
 * empty raise and recount cost ~3% of the server's busy samples).
 */
function nobody({ users, rooms, all }: Pick<Audience, 'users' | 'rooms' | 'all'>): boolean {
  return !all && users.length === 0 && (rooms === undefined || rooms.length === 0);
}

/** The inboxKey of a socket that passed the handshake; `undefined` for one that has not. */
function inboxKeyOf(socket: { data: { userId?: string; scope?: string | null } } | undefined): string | undefined {
  const userId = socket?.data.userId;
  return userId ? inboxKey({ userId, scope: socket.data.scope ?? null }) : undefined;
}
