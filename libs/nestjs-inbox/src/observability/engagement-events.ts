import { Injectable } from '@nestjs/common';
import { defer, Observable, Subject } from 'rxjs';
import type { Action, Filter, StatePayload } from '../protocol';
import { ClusterEvent, ClusterEvents } from '../realtime/cluster/cluster-events';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { InboxTelemetry } from './inbox-telemetry';

/** What a user did to their notifications, or what reached them live. */
export type EngagementType = 'seen' | 'read' | 'archived' | 'deleted' | 'action' | 'delivered';

/** The action a user activated (`action` events): its position among the notification's `actions`, as stored. */
export interface EngagementAction extends Action {
  index: number;
}

/** One of `NotificationService.events`. */
export interface EngagementEvent {
  type: EngagementType;
  userId: string;
  /** The notifications, by id (a change by ids: those that changed; `action`: the one; `delivered`: those written to the user's sockets). */
  ids?: string[];
  /** Or the filter that selected them (a change by filter, `{ state: 'all' }` for "all"). */
  filter?: Filter;
  /** How many notifications changed. */
  count: number;
  /** The tenant the notifications belong to; `null` without scopes. */
  scope: string | null;
  /** `action` events: which action, as the notification stores it. */
  action?: EngagementAction;
  /** When it happened, by the clock of the instance where it did. */
  time: Date;
  /** The instance where it happened (the `instance` attribute of the metrics). */
  instance: string;
  /**
   * It happened on this instance. Each instance sees every instance's events: a host that runs
   * the same subscriber on every instance and must act once per event keeps the local ones.
   */
  local: boolean;
}

/** An event as it crosses instances (JSON: the time as ISO 8601). */
export type EngagementWire = Omit<EngagementEvent, 'time' | 'local'> & { time: string };

const TYPES: Partial<Record<StatePayload['change'], EngagementType>> = {
  seen: 'seen',
  read: 'read',
  archived: 'archived',
  deleted: 'deleted',
};

/**
 * The engagement stream: state changes made on this instance, and, with Redis, those the other
 * instances made. An instance tells the others only while its own stream has a subscriber
 * (hosts run the same code everywhere): a host that never subscribes pays no Redis message.
 * At most once: an event made while Redis is unreachable reaches this instance's stream only.
 */
@Injectable()
export class EngagementEvents {
  private readonly subject = new Subject<EngagementEvent>();
  /** Local listeners beside the stream (the event-emitter bridge): they make no Redis message. */
  private readonly localListeners: ((event: EngagementEvent) => void)[] = [];
  /** Called when the stream gets a subscriber (DeliveredEvents then watches the open sockets). */
  private readonly onObserved: (() => void)[] = [];
  readonly events: Observable<EngagementEvent> = defer(() => {
    for (const fn of this.onObserved) fn();
    return this.subject;
  });

  constructor(
    private readonly cluster: ClusterEvents,
    private readonly fanout: RedisFanout,
    private readonly telemetry: InboxTelemetry,
  ) {
    cluster.on(ClusterEvent.Engagement, (wires) => {
      for (const wire of wires) this.subject.next({ ...wire, time: new Date(wire.time), local: false });
    });
  }

  /** Someone wants the events: the stream has a subscriber, or a local listener is registered. */
  get observed(): boolean {
    return this.subject.observed || this.localListeners.length > 0;
  }

  /** Every local event (not the other instances'), without subscribing to the stream. */
  listenLocally(fn: (event: EngagementEvent) => void): void {
    this.localListeners.push(fn);
    for (const observed of this.onObserved) observed();
  }

  whenObserved(fn: () => void): void {
    this.onObserved.push(fn);
  }

  /** After a state change of `userId` that changed `count` notifications (nothing for none). */
  changed(userId: string, state: StatePayload, count: number, scope: string | null): void {
    const type = TYPES[state.change];
    if (!type || count === 0 || !this.observed) return;
    const selection = 'ids' in state ? { ids: state.ids } : { filter: state.filter };
    this.publish([{ type, userId, ...selection, count, scope, time: new Date().toISOString(), instance: this.telemetry.instance }]);
  }

  /** A user activated action `action` of notification `id` (checked: the user's inbox shows it). */
  acted(userId: string, id: string, action: EngagementAction, scope: string | null): void {
    if (!this.observed) return;
    this.publish([
      { type: 'action', userId, ids: [id], count: 1, scope, action, time: new Date().toISOString(), instance: this.telemetry.instance },
    ]);
  }

  /** Notifications written to users' sockets on this instance (DeliveredEvents, one event per inbox and tick). */
  delivered(inboxes: { userId: string; scope: string | null; ids: string[] }[]): void {
    if (inboxes.length === 0 || !this.observed) return;
    const time = new Date().toISOString();
    const instance = this.telemetry.instance;
    this.publish(inboxes.map(({ userId, scope, ids }) => ({ type: 'delivered', userId, ids, count: ids.length, scope, time, instance })));
  }

  /** To this instance's stream and listeners, and in one Redis message to the other instances' streams. */
  private publish(wires: EngagementWire[]): void {
    for (const wire of wires) {
      const event: EngagementEvent = { ...wire, time: new Date(wire.time), local: true };
      this.subject.next(event);
      for (const fn of this.localListeners) fn(event);
    }
    // Only for a stream with a subscriber (the local listeners want this instance's events only),
    // and not while Redis is away: the event is not worth a failed publish, which would make this
    // instance resend every notification since the outage began once Redis is back.
    if (this.subject.observed && this.fanout.up) this.cluster.emit(ClusterEvent.Engagement, wires);
  }
}
