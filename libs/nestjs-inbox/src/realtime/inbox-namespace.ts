import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Namespace, Server } from 'socket.io';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { NotificationsError } from '../notifications.errors';
import { NOTIFICATIONS_GATEWAY } from '../notifications.internal-constants';
import { InboxTelemetry } from '../observability/inbox-telemetry';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { ClusterEvents } from './cluster/cluster-events';
import { DeliveredLog } from './cluster/delivered-log';
import { RedisFanout } from './cluster/redis-fanout';
import { ShownCounts } from './shown-counts';
import { onSocketDisconnect } from './socket-disconnects';

/**
 * Owns the library's Socket.IO namespace, or its absence, for everything that emits to it.
 * - With the gateway, Nest creates the namespace when it binds the gateway (after every
 *   provider is built); the gateway hands it over in `afterInit`.
 * - In a producer-only process (`gateway: false`) with Redis, this creates one of its own on a
 *   Socket.IO server attached to no HTTP server: it has no sockets, but joins the cluster
 *   through the same adapter, so what it emits the gateway instances deliver, and
 *   `isOnline`/`disconnectUser` ask them. (`@socket.io/redis-emitter` would speak only the
 *   classic adapter's format and has no server-side events.)
 * - Producer-only without Redis there is nobody to emit to: `current` stays `undefined`.
 * Either way it gets the Redis adapter and the cluster events before any socket connects.
 */
@Injectable()
export class InboxNamespace implements OnModuleInit, OnApplicationShutdown {
  private nsp?: Namespace;
  private own = false;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    @Inject(NOTIFICATIONS_GATEWAY) private readonly gateway: boolean,
    private readonly fanout: RedisFanout,
    private readonly events: ClusterEvents,
    private readonly delivered: DeliveredLog,
    private readonly shown: ShownCounts,
    private readonly telemetry: InboxTelemetry,
  ) {}

  onModuleInit(): void {
    if (this.gateway || !this.options.redis) return;
    this.own = true;
    this.bind(new Server().of(this.options.namespace));
  }

  /** Called once, by the gateway's `afterInit` or by `onModuleInit` above. */
  bind(nsp: Namespace): void {
    this.fanout.join(nsp);
    this.events.listen(nsp);
    // What each socket was sent, so a Redis outage's catch-up does not send it again.
    if (this.fanout.enabled) nsp.on('connection', (socket) => this.delivered.track(socket));
    // The count each user's sockets show, so a broadcast can raise it at once (UnreadRecounter).
    nsp.on('connection', (socket) => this.shown.track(socket));
    onSocketDisconnect(nsp, (socket) => this.shown.disconnected(socket));
    this.telemetry.trackConnections(nsp);
    this.nsp = nsp;
  }

  /** The namespace, once bound; `undefined` in a producer-only process without Redis. */
  get current(): Namespace | undefined {
    return this.nsp;
  }

  /** The namespace, for what needs the gateway's sockets; a clear error where there are none. */
  require(what: string): Namespace {
    if (!this.nsp) {
      throw new NotificationsError(
        'UNAVAILABLE',
        `${what} needs the gateway's sockets: a producer-only process (gateway: false) reaches them only with the \`redis\` option`,
      );
    }
    return this.nsp;
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.own) await this.nsp?.adapter.close();
  }
}
