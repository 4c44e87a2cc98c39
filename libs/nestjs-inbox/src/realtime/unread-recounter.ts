import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { mutedTypeRoom, topicRoom, userRoom } from '../notifications.internal-constants';
import { inboxKey } from '../persistence/inbox-model';
import { Badge, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { ServerEvent } from '../protocol';
import { Audience, ClusterEvent, ClusterEvents } from './cluster/cluster-events';
import { InboxNamespace } from './inbox-namespace';
import { RecountBatcher } from './recount-batcher';
import { ShownCounts } from './shown-counts';
import { ViewCounts } from './view-counts';

/** Users whose unread count is recomputed per query. */
const RECOUNT_CHUNK = 1000;

/**
 * Keeps the badges right: after a change, every instance recounts the unread notifications of
 * the users concerned that have a socket on it (so nobody is counted twice, and offline users
 * not at all), in batches (see RecountBatcher), and emits each count that differs from what
 * that user's sockets here show (ShownCounts).
 *
 * A broadcast or a publication concerns every user online (or a topic's): recounting thousands
 * takes most of a second at 10M rows. A new notification is unread for everyone who sees it, so
 * each of those users' sockets is sent the count it shows plus the new ones at once (one frame
 * per distinct count), and the recount that follows confirms it without a frame (or corrects
 * it, if a read crossed the delivery).
 */
@Injectable()
export class UnreadRecounter implements OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private readonly batcher = new RecountBatcher((users) => this.recount(users));
  private closing = false;

  constructor(
    private readonly namespace: InboxNamespace,
    private readonly reads: InboxReadRepository,
    private readonly events: ClusterEvents,
    private readonly shown: ShownCounts,
    private readonly views: ViewCounts,
  ) {
    events.on(ClusterEvent.Stale, (audience) => this.refreshHere(audience));
    shown.onDisagreement = (userId) => this.recountHere([userId]);
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
    if (!this.namespace.current) return;
    this.refreshHere(audience);
    this.events.emit(ClusterEvent.Stale, audience);
  }

  markStale(userIds: Iterable<string>): void {
    this.refresh({ users: [...userIds], topics: [], all: false });
  }

  /** Schedules a recount for these users' sockets on this instance. */
  recountHere(userIds: Iterable<string>): void {
    if (this.namespace.current) this.batcher.add(userIds);
  }

  /**
   * These audiences' counts changed: recount for this instance's sockets only (what every
   * instance is told, or knows by itself). The local users of each audience are looked up once,
   * for the immediate raise and for the recount.
   */
  refreshHere({ users, topics, all, added }: Audience): void {
    const nsp = this.namespace.current;
    if (!nsp) return;
    const everyone = all ? this.localUsers() : undefined;
    const byTopic = new Map([...new Set(topics)].map((topic) => [topic, this.localUsers(topic)]));
    if (added) this.raiseShown(added, everyone, byTopic);
    if (everyone) return this.recountHere(everyone);
    const here = users.filter((u) => nsp.adapter.rooms.has(userRoom(u)));
    for (const topicUsers of byTopic.values()) here.push(...topicUsers);
    this.recountHere(here);
  }

  /**
   * Sends each local user who sees the new broadcasts or publications the badge they show plus
   * those, leaving out the types they muted (a muted topic's users are not in its room).
   */
  private raiseShown(added: NonNullable<Audience['added']>, everyone: Set<string> | undefined, byTopic: Map<string, Set<string>>): void {
    const raise = new Map<string, number>();
    const add = (users: Iterable<string>, byType: Record<string, number>) => {
      for (const [type, n] of Object.entries(byType)) {
        const muted = this.usersInRoom(mutedTypeRoom(type));
        for (const userId of users) if (!muted.has(userId)) raise.set(userId, (raise.get(userId) ?? 0) + n);
      }
    };
    add(everyone ?? [], added.all);
    for (const [topic, byType] of Object.entries(added.topics)) add(byTopic.get(topic) ?? [], byType);
    const raised: [string, Badge][] = [];
    for (const [userId, n] of raise) {
      const badge = this.shown.raise(userId, n);
      if (badge !== undefined) raised.push([userId, badge]);
    }
    this.send(raised);
  }

  /**
   * Sends each user's sockets here their badge: users with the same badge get one frame, encoded
   * once (a broadcast raises everyone, and most of them to the same count).
   */
  private send(badges: Iterable<[string, Badge]>): void {
    const byBadge = new Map<string, { badge: Badge; rooms: string[] }>();
    for (const [userId, badge] of badges) {
      const key = `${badge.unread} ${badge.unseen}`;
      const group = byBadge.get(key) ?? byBadge.set(key, { badge, rooms: [] }).get(key)!;
      group.rooms.push(userRoom(userId));
    }
    const local = this.namespace.current?.local;
    for (const { badge, rooms } of byBadge.values())
      local?.to(rooms).emit(ServerEvent.Unread, { count: badge.unread, unseen: badge.unseen });
  }

  /** Users with a socket on this instance (in `topic`'s room, if given). */
  private localUsers(topic?: string): Set<string> {
    return topic === undefined ? this.usersInRoom(null) : this.usersInRoom(topicRoom(topic));
  }

  /** Users with a socket in `room` on this instance (`null`: any socket). */
  private usersInRoom(room: string | null): Set<string> {
    const users = new Set<string>();
    const nsp = this.namespace.current;
    if (!nsp) return users;
    const ids = room === null ? nsp.sockets.keys() : (nsp.adapter.rooms.get(room) ?? []);
    for (const id of ids) {
      const userId: string | undefined = nsp.sockets.get(id)?.data.userId;
      if (userId) users.add(userId);
    }
    return users;
  }

  private async recount(users: string[]): Promise<void> {
    try {
      for (let i = 0; i < users.length; i += RECOUNT_CHUNK) {
        const chunk = users.slice(i, i + RECOUNT_CHUNK);
        const versions = chunk.map((userId) => this.shown.version(userId));
        // The unscoped inbox's badge: the scopes' recount is the realtime side's (docs/scopes.md).
        const inboxes = chunk.map((userId) => ({ userId, scope: null }));
        const badges = await this.reads.badges(inboxes);
        const changed: [string, Badge][] = [];
        chunk.forEach((userId, k) => {
          const badge = badges.get(inboxKey(inboxes[k]));
          // Raised while this was read: the count read may lack what raised it. The raise
          // scheduled its own recount, which sends the exact count. A badge the sockets show
          // already (a raise that was right) is not sent again.
          if (badge === undefined || this.shown.version(userId) !== versions[k] || this.shown.shows(userId, badge)) return;
          changed.push([userId, badge]);
        });
        this.send(changed);
        await this.views.refresh(chunk);
      }
    } catch (err) {
      if (!this.closing) this.logger.warn(`unread counts not refreshed: ${(err as Error).message}`);
    }
  }
}
