import { Injectable } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { addAnyListener } from '../../compat/socket-io.compat';
import { inboxKey, type Inbox } from '../../persistence/inbox-model';
import { ServerEvent, type NotificationPayload } from '../../protocol';

/** How long a delivery is remembered while Redis is up: longer than an outage is dated back. */
const RETAIN_MS = 10_000;
/**
 * How long after Redis returns the outage's deliveries are still remembered: an instance that
 * reconnects later (a worker, a restarted one) asks for a resend from its own, older horizon.
 */
const AFTER_OUTAGE_MS = 30_000;
/** Most deliveries remembered during an outage; past that the oldest are forgotten (and resent). */
const MAX_HELD = 200_000;

/**
 * Which notifications each inbox's sockets on this instance were sent (`<inboxKey> <id>`). After a Redis
 * outage, OutageRecovery resends what was committed since the outage began less what is here,
 * so a user is not sent again what they got (from this instance, or from another one through
 * Redis before it failed). Recorded from the sockets' outgoing packets (`onAnyOutgoing`), so it
 * sees deliveries of every origin; kept for `RETAIN_MS`, and for the whole outage.
 */
@Injectable()
export class DeliveredLog {
  private readonly keys = new Set<string>();
  /** `[time, key]` in the order recorded, for forgetting the oldest; entries before `head` are forgotten. */
  private order: [number, string][] = [];
  private head = 0;
  private holding = false;
  /** Until when, after an outage, nothing is forgotten by age. */
  private heldUntil = 0;
  /** One listener shared by every socket (Socket.IO calls it with the socket as `this`). */
  private readonly listener: (this: Socket, event: string, payload: NotificationPayload) => void;

  constructor() {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- a listener shared by every socket: its own `this` is the socket
    const log = this;
    this.listener = function (event, payload) {
      if (event !== ServerEvent.Notification) return;
      log.record(`${inboxKey({ userId: this.data.userId, scope: this.data.scope ?? null })} ${payload.id}`);
    };
  }

  track(socket: Socket): void {
    addAnyListener(socket, 'outgoing', this.listener);
  }

  /** Whether the sockets of `inbox` here were sent notification `id`. */
  delivered(inbox: Inbox, id: string): boolean {
    return this.keys.has(`${inboxKey(inbox)} ${id}`);
  }

  /** During an outage nothing is forgotten by age (up to `MAX_HELD`). */
  hold(): void {
    this.holding = true;
  }

  /** The outage is over: forget by age again, `AFTER_OUTAGE_MS` from now. */
  release(): void {
    this.holding = false;
    this.heldUntil = Date.now() + AFTER_OUTAGE_MS;
  }

  private record(key: string): void {
    if (this.keys.has(key)) return;
    const now = Date.now();
    this.keys.add(key);
    this.order.push([now, key]);
    this.forget(now);
  }

  private forgetting(now: number): boolean {
    return !this.holding && now >= this.heldUntil;
  }

  /**
   * Forgets from the oldest. The forgotten entries are cut off the array only once they are half
   * of it: a `splice(0, n)` per delivery moved every remaining entry each time (bench 8: every
   * socket's catch-up is recorded here, thousands a second during a connect storm).
   */
  private forget(now: number): void {
    const { order } = this;
    while (
      this.head < order.length &&
      (order.length - this.head > MAX_HELD || (this.forgetting(now) && order[this.head][0] < now - RETAIN_MS))
    ) {
      this.keys.delete(order[this.head][1]);
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 >= order.length) {
      this.order = order.slice(this.head);
      this.head = 0;
    }
  }
}
