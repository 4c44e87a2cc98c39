import { Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { Namespace, Server } from 'socket.io';
import { InjectNotificationsOptions } from '../notifications.decorators';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { NotificationDispatcher } from './notification.dispatcher';

/**
 * The namespace of a producer-only process (`gateway: false`) with Redis: a Socket.IO server
 * attached to no HTTP server, whose namespace joins the cluster through the same adapter as
 * the gateways. It has no sockets of its own; what it emits, the gateway instances deliver,
 * and `isOnline`/`disconnectUser` ask them. Using the adapter itself, rather than
 * `@socket.io/redis-emitter`, keeps one channel format for the classic and the sharded adapter
 * (the emitter speaks only the classic one) and gives server-side events and requests.
 */
@Injectable()
export class ProducerNamespace implements OnModuleInit, OnApplicationShutdown {
  private nsp?: Namespace;

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly dispatcher: NotificationDispatcher,
  ) {}

  onModuleInit(): void {
    if (!this.options.redis) return;
    this.nsp = new Server().of(this.options.namespace);
    this.dispatcher.attach(this.nsp);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.nsp?.adapter.close();
  }
}
