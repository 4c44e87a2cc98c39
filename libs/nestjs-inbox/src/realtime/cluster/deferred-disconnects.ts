import { Injectable, Logger } from '@nestjs/common';
import { userRoom } from '../../notifications.internal-constants';
import { InboxNamespace } from '../inbox-namespace';
import { ClusterEvent, ClusterEvents } from './cluster-events';
import { RedisFanout } from './redis-fanout';

/** Disconnects kept while Redis is away, to send to the other instances when it returns. */
const MAX_DEFERRED_DISCONNECTS = 10_000;
/** How long after Redis returns they are sent again to instances that reconnect later. */
const DISCONNECT_GRACE_MS = 15_000;

/**
 * Logouts (`disconnectUser`) that the other instances could not be told of while Redis was
 * away. They are sent when Redis returns, and again each time another instance reports it is
 * back (`Recover`), since one that reconnects later missed the first time; after a grace
 * period they are forgotten. Each instance closes only the sockets opened before the logout:
 * the user may have logged in again since.
 */
@Injectable()
export class DeferredDisconnects {
  private readonly logger = new Logger('NotificationsModule');
  /** User id → when they were disconnected; the Map's order is the eviction order. */
  private readonly kept = new Map<string, number>();
  private forget?: NodeJS.Timeout;

  constructor(
    private readonly namespace: InboxNamespace,
    private readonly events: ClusterEvents,
    private readonly fanout: RedisFanout,
  ) {
    events.on(ClusterEvent.Disconnect, ({ userId, before }) => this.disconnectHere(userId, before));
    events.on(ClusterEvent.Recover, () => this.replay());
    fanout.onUp(() => {
      this.replay();
      this.forget = setTimeout(() => this.kept.clear(), DISCONNECT_GRACE_MS).unref();
    });
    fanout.onDown(() => clearTimeout(this.forget));
  }

  /** Keeps a logout for later if the other instances cannot be told now. */
  keepIfUnsent(userId: string): void {
    if (!this.events.clustered || this.fanout.up) return;
    if (this.kept.size >= MAX_DEFERRED_DISCONNECTS) {
      const [[oldest]] = this.kept;
      this.kept.delete(oldest);
      this.logger.warn(`more than ${MAX_DEFERRED_DISCONNECTS} disconnects waiting for Redis: the oldest is dropped`);
    }
    this.kept.delete(userId);
    this.kept.set(userId, Date.now());
  }

  private replay(): void {
    for (const [userId, before] of this.kept) this.events.emit(ClusterEvent.Disconnect, { userId, before });
  }

  private disconnectHere(userId: string, before: number): void {
    const nsp = this.namespace.current;
    for (const id of nsp?.adapter.rooms.get(userRoom(userId)) ?? []) {
      const socket = nsp?.sockets.get(id);
      if (socket && socket.handshake.issued < before) socket.disconnect(true);
    }
  }
}
