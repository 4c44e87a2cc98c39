import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { addAnyListener } from '../compat/socket-io.compat';
import { inboxKey } from '../persistence/inbox-model';
import { ServerEvent, type NotificationPayload } from '../protocol';
import { InboxNamespace } from '../realtime/inbox-namespace';
import { DeliveryRecord } from './delivery-record';
import { EngagementEvents } from './engagement-events';

interface Pending {
  userId: string;
  scope: string | null;
  ids: Set<string>;
}

/**
 * The `delivered` engagement events: a notification written live to at least one socket of an
 * inbox on this instance (handed to the socket's transport; the browser does not acknowledge).
 * Seen from the sockets' outgoing packets (`onAnyOutgoing`), so a delivery counts on the
 * instance holding the socket, whichever instance emitted it through Redis; a user with sockets
 * on two instances makes an event on each. Not live, so no event: the catch-up's resends on
 * connect. One event per inbox and instance per event-loop turn, with the ids it got there (the
 * adapter writes a broadcast to every socket in one turn: one event per user, one Redis
 * message per instance, never one per socket or per row).
 *
 * Only while someone listens (EngagementEvents.observed) or the `deliveryRecord` option is on
 * (the same deliveries, counted per notification: DeliveryRecord): sockets get the listener then,
 * so a host with neither pays nothing per packet.
 */
@Injectable()
export class DeliveredEvents {
  private readonly pending = new Map<string, Pending>();
  private flushing = false;
  /** One listener shared by every socket (Socket.IO calls it with the socket as `this`). */
  private readonly listener: (this: Socket, event: string, payload: NotificationPayload) => void;

  constructor(
    private readonly engagement: EngagementEvents,
    private readonly namespace: InboxNamespace,
    private readonly record: DeliveryRecord,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a listener shared by every socket: its own `this` is the socket
    const delivered = this;
    this.listener = function (event, payload) {
      if (event === ServerEvent.Notification && delivered.wanted) delivered.add(this, [payload.id]);
    };
    // A subscriber that comes after the sockets: watch those already open (and synced) too.
    engagement.whenObserved(() => {
      for (const socket of this.namespace.current?.sockets.values() ?? []) {
        if (socket.data?.synced && !socket.listenersAnyOutgoing().includes(this.listener))
          addAnyListener(socket, 'outgoing', this.listener);
      }
    });
  }

  /**
   * A socket whose catch-up is done: from now on what it is sent is live. `sentLive`: what it
   * was sent live during its catch-up (in its rooms before the missed rows were read).
   */
  watch(socket: Socket, sentLive: Iterable<string>): void {
    (socket.data as { synced?: boolean }).synced = true;
    if (!this.wanted) return;
    this.add(socket, sentLive);
    addAnyListener(socket, 'outgoing', this.listener);
  }

  /** Someone wants the deliveries: a subscriber of the events, or the stored record. */
  private get wanted(): boolean {
    return this.engagement.observed || this.record.enabled;
  }

  private add(socket: Socket, ids: Iterable<string>): void {
    const data = socket.data as { userId: string; scope?: string | null };
    const scope = data.scope ?? null;
    const key = inboxKey({ userId: data.userId, scope });
    let entry = this.pending.get(key);
    for (const id of ids) {
      if (!entry) this.pending.set(key, (entry = { userId: data.userId, scope, ids: new Set() }));
      entry.ids.add(id);
    }
    if (entry && !this.flushing) {
      this.flushing = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushing = false;
    const inboxes = [...this.pending.values()].map(({ userId, scope, ids }) => ({ userId, scope, ids: [...ids] }));
    this.pending.clear();
    for (const inbox of inboxes) this.record.count(inbox.ids);
    this.engagement.delivered(inboxes);
  }
}
