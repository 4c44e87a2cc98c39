import { Injectable } from '@nestjs/common';
import type { Namespace } from 'socket.io';
import type { EngagementWire } from '../../observability/engagement-events';
import { RedisFanout } from './redis-fanout';

/**
 * Every message one instance sends the others, through the namespace's adapter (Redis), as
 * `serverSideEmit`. One enum, one payload type each, one registration (`ClusterEvents.listen`).
 */
export const ClusterEvent = {
  /** These audiences' unread counts changed; each instance recounts for its own sockets. */
  Stale: 'nestjs-inbox:stale',
  /** Close a user's sockets opened before a time (a logout made while Redis was away). */
  Disconnect: 'nestjs-inbox:disconnect',
  /** A user's sockets join or leave rooms (topics, muted types); every instance acknowledges. */
  Topic: 'nestjs-inbox:topic',
  /** "I am back after a Redis outage": resend since `horizon`, replay kept disconnects. */
  Recover: 'nestjs-inbox:recover',
  /** Engagement events (state changes, actions, live deliveries) of one instance and tick, for every instance's `NotificationService.events`. */
  Engagement: 'nestjs-inbox:engagement',
} as const;
export type ClusterEvent = (typeof ClusterEvent)[keyof typeof ClusterEvent];

/** Whose unread counts a change touches. */
export interface Audience {
  /** Every inbox of these users (a direct notification, a change of their state). */
  users: string[];
  /** The inboxes of the sockets in these rooms (a topic's of a scope, a scope's: publications, scoped broadcasts). */
  rooms: string[];
  /** Every inbox (an unscoped broadcast). */
  all: boolean;
  /**
   * New notifications of a delivery, for the inboxes that see them: how many unscoped
   * broadcasts (`all`) and notifications per room, by type (an inbox that muted a type is not
   * raised for it). Absent for other changes (a read, a subscription).
   */
  added?: { all: Record<string, number>; rooms: Record<string, Record<string, number>> };
}

/**
 * Rooms a user's sockets join and leave: those of one scope's inbox (`scope` given; `null` the
 * unscoped sockets), or all of them but those whose scope is in `skip` (`scope` absent).
 */
export interface RoomChange {
  userId: string;
  scope?: string | null;
  /** Scopes whose sockets are left alone (`null`: the unscoped ones), e.g. where the topic is muted. */
  skip?: (string | null)[];
  join: string[];
  leave: string[];
}

export interface ClusterPayloads {
  [ClusterEvent.Stale]: Audience;
  [ClusterEvent.Disconnect]: { userId: string; before: number };
  [ClusterEvent.Topic]: RoomChange;
  [ClusterEvent.Recover]: {
    /** Database horizon the sender's outage began at. */
    horizon: string;
    /** Resend from `horizon`: only when some of the sender's publishes failed. */
    resend: boolean;
  };
  [ClusterEvent.Engagement]: EngagementWire[];
}

type Handler<E extends ClusterEvent> = (payload: ClusterPayloads[E]) => void;

/**
 * The one place cross-instance events are registered on the namespace. The pieces that handle
 * one say so with `on` (in their constructor); `listen` binds them all when the namespace
 * exists. An event that asks for an acknowledgement (Topic) is acknowledged once every local
 * handler ran.
 */
@Injectable()
export class ClusterEvents {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each event's handlers take that event's payload; the map holds them all
  private readonly handlers = new Map<ClusterEvent, Handler<any>[]>();
  private nsp?: Namespace;
  /** `Stale` audiences of this tick, not sent yet. */
  private stale?: Audience[];

  constructor(private readonly fanout: RedisFanout) {}

  on<E extends ClusterEvent>(event: E, handler: Handler<E>): void {
    this.handlers.set(event, [...(this.handlers.get(event) ?? []), handler]);
  }

  listen(nsp: Namespace): void {
    this.nsp = nsp;
    for (const event of Object.values(ClusterEvent)) {
      nsp.on(event, (payload: unknown, ack?: (ok: boolean) => void) => {
        for (const handler of this.handlers.get(event) ?? []) handler(payload);
        if (typeof ack === 'function') ack(true);
      });
    }
  }

  /** Whether there are other instances to tell (the `redis` option). */
  get clustered(): boolean {
    return this.fanout.enabled;
  }

  /**
   * To every other instance; nothing without a cluster. `Stale` audiences are merged and sent
   * once per tick: a group commit delivers its whole batch in one tick, and each delivery would
   * otherwise publish its own message to Redis and make every instance handle it (bench 6).
   * Any other event sends the pending ones first, so the order between events is kept.
   */
  emit<E extends ClusterEvent>(event: E, payload: ClusterPayloads[E]): void {
    if (!this.clustered) return;
    if (event === ClusterEvent.Stale) {
      if (!this.stale) {
        this.stale = [];
        process.nextTick(() => this.sendStale());
      }
      this.stale.push(payload as Audience);
      return;
    }
    this.sendStale();
    this.nsp?.serverSideEmit(event, payload);
  }

  /**
   * To every other instance, resolving once each has handled it. Without Redis right now it
   * resolves at once: the others re-sync from the database when it returns.
   */
  async emitWithAck<E extends ClusterEvent>(event: E, payload: ClusterPayloads[E]): Promise<void> {
    this.sendStale();
    if (this.fanout.up) await this.nsp?.serverSideEmitWithAck(event, payload);
  }

  private sendStale(): void {
    const pending = this.stale;
    if (!pending) return;
    this.stale = undefined;
    this.nsp?.serverSideEmit(ClusterEvent.Stale, pending.length === 1 ? pending[0] : mergeAudiences(pending));
  }
}

/**
 * One audience for several: their users and rooms (each once), `all` if any, and the new
 * notifications added up (every count in `added`, however nested, summed key by key). Handling
 * it is handling them one after the other, with one badge frame per user instead of several.
 */
export function mergeAudiences(audiences: Audience[]): Audience {
  const users = new Set<string>();
  const rooms = new Set<string>();
  let all = false;
  let added: Audience['added'];
  for (const a of audiences) {
    for (const u of a.users) users.add(u);
    for (const r of a.rooms ?? []) rooms.add(r);
    all ||= a.all;
    if (a.added) added = sumInto(added ?? {}, a.added) as Audience['added'];
  }
  return { users: [...users], rooms: [...rooms], all, ...(added ? { added } : {}) };
}

type Counts = { [key: string]: number | Counts };

function sumInto(target: Counts, source: Counts): Counts {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key];
    if (typeof value === 'number') target[key] = (typeof current === 'number' ? current : 0) + value;
    else target[key] = sumInto(typeof current === 'object' ? current : {}, value);
  }
  return target;
}
