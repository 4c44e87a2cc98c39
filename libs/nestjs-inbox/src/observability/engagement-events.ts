import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { Filter, StatePayload } from '../protocol';
import { ClusterEvent, ClusterEvents } from '../realtime/cluster/cluster-events';
import { RedisFanout } from '../realtime/cluster/redis-fanout';
import { InboxTelemetry } from './inbox-telemetry';

/** What a user did to their notifications. */
export type EngagementType = 'seen' | 'read' | 'archived' | 'deleted';

/** One of `NotificationService.events`. */
export interface EngagementEvent {
  type: EngagementType;
  userId: string;
  /** The notifications, by id (a change by ids: those that changed). */
  ids?: string[];
  /** Or the filter that selected them (a change by filter, `{ state: 'all' }` for "all"). */
  filter?: Filter;
  /** How many notifications changed. */
  count: number;
  /** The tenant the notifications belong to; `null` without scopes. */
  scope: string | null;
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
  readonly events: Observable<EngagementEvent> = this.subject.asObservable();

  constructor(
    private readonly cluster: ClusterEvents,
    private readonly fanout: RedisFanout,
    private readonly telemetry: InboxTelemetry,
  ) {
    cluster.on(ClusterEvent.Engagement, (wire) => this.subject.next({ ...wire, time: new Date(wire.time), local: false }));
  }

  /** After a state change of `userId` that changed `count` notifications (nothing for none). */
  changed(userId: string, state: StatePayload, count: number, scope: string | null): void {
    const type = TYPES[state.change];
    if (!type || count === 0 || !this.subject.observed) return;
    const selection = 'ids' in state ? { ids: state.ids } : { filter: state.filter };
    const wire: EngagementWire = {
      type,
      userId,
      ...selection,
      count,
      scope,
      time: new Date().toISOString(),
      instance: this.telemetry.instance,
    };
    this.subject.next({ ...wire, time: new Date(wire.time), local: true });
    // Not while Redis is away: the event is not worth a failed publish, which would make this
    // instance resend every notification since the outage began once Redis is back.
    if (this.fanout.up) this.cluster.emit(ClusterEvent.Engagement, wire);
  }
}
