import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';
import type { Namespace } from 'socket.io';
import { InjectNotificationsOptions } from '../../notifications.decorators';
import type { AnyRedisClient, ResolvedNotificationsOptions } from '../../notifications.options';

type Client = AnyRedisClient;

/** Commands the adapters send without handling their promise; an outage must not reject them unhandled. */
const PUBLISH = ['publish', 'sPublish'];
const SUBSCRIBE = ['subscribe', 'pSubscribe', 'sSubscribe', 'unsubscribe', 'pUnsubscribe', 'sUnsubscribe'];

/**
 * The Redis side of running several instances: a publisher and a subscriber of the library's
 * own, the adapter of its namespace, and whether Redis is reachable right now. Without the
 * `redis` option it does nothing and the namespace keeps Socket.IO's in-memory adapter.
 */
@Injectable()
export class RedisFanout implements OnApplicationShutdown {
  private readonly logger = new Logger('NotificationsModule');
  private readonly pub?: Client;
  private readonly sub?: Client;
  private isUp = false;
  private outageLogged = false;
  private closing = false;
  private lostPublishes = false;
  private readonly handlers = {
    up: [] as (() => void)[],
    down: [] as (() => void)[],
  };

  constructor(@InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions) {
    const redis = options.redis;
    if (!redis) return;
    const base: Client = redis.client ?? createClient({ url: redis.url });
    // The publisher never queues while Redis is away: what it could not send, the catch-up
    // after the outage sends, so memory stays bounded however long Redis is gone. The
    // subscriber keeps its offline queue, which holds only (un)subscribe commands.
    this.pub = base.duplicate({ disableOfflineQueue: true });
    this.sub = base.duplicate();
    quiet(this.pub, PUBLISH, () => (this.lostPublishes = true));
    quiet(this.sub, SUBSCRIBE, () => undefined);
    for (const client of [this.pub, this.sub]) {
      client.on('error', (err: Error) => this.lost(err));
      client.on('ready', () => this.ready());
      client.connect().catch((err: Error) => this.lost(err));
    }
  }

  get enabled(): boolean {
    return this.pub !== undefined;
  }

  /** Both clients connected (and the subscriber's channels subscribed again). */
  get up(): boolean {
    return this.isUp;
  }

  /** Each client's connection, for the health check; `off` without the `redis` option. */
  get clients(): 'off' | { publisher: 'up' | 'down'; subscriber: 'up' | 'down' } {
    if (!this.pub || !this.sub) return 'off';
    return { publisher: this.pub.isReady ? 'up' : 'down', subscriber: this.sub.isReady ? 'up' : 'down' };
  }

  /** Runs `fn` each time Redis becomes reachable, the first connection included. */
  onUp(fn: () => void): void {
    this.handlers.up.push(fn);
  }

  /** Runs `fn` each time a reachable Redis is lost. */
  onDown(fn: () => void): void {
    this.handlers.down.push(fn);
  }

  /** Whether a publish failed since the last call: then the others missed some of ours. */
  takeLostPublishes(): boolean {
    const lost = this.lostPublishes;
    this.lostPublishes = false;
    return lost;
  }

  /** Gives `nsp` a Redis adapter. Only this namespace: the host's other namespaces keep theirs. */
  join(nsp: Namespace): void {
    if (!this.pub || !this.sub) return;
    const { adapter, key } = this.options.redis!;
    // The sharded adapter's default 'dynamic' mode subscribes a channel per room only once a
    // socket joins it, asynchronously: a notification published before that subscription is
    // in place would miss a socket whose catch-up had already run. 'static' has no such gap.
    const factory =
      adapter === 'sharded'
        ? createShardedAdapter(this.pub, this.sub, { channelPrefix: key, subscriptionMode: 'static' })
        : createAdapter(this.pub, this.sub, { key });
    void nsp.adapter.close();
    nsp.adapter = factory(nsp);
  }

  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    await Promise.all(
      [this.pub, this.sub].map(async (client) => {
        if (!client?.isOpen) return;
        // close() waits for pending replies, which never come while Redis is down.
        if (client.isReady) await client.close().catch(() => client.destroy());
        else client.destroy();
      }),
    );
  }

  /** node-redis reports every failed reconnect attempt: warn once per outage; each retry at debug level. */
  private lost(err: Error): void {
    if (this.closing) return;
    this.logger.debug(`Redis connection failed: ${err.message}`);
    if (!this.outageLogged) {
      this.outageLogged = true;
      this.logger.warn(
        `Redis unreachable (${err.message}): delivering to this instance's sockets only; ` + 'the others catch up when it returns',
      );
    }
    if (!this.isUp) return;
    this.isUp = false;
    this.handlers.down.forEach((fn) => fn());
  }

  /** node-redis resubscribes before it reports `ready`, so both ready means fan-out works. */
  private ready(): void {
    if (this.closing || this.isUp || !this.pub?.isReady || !this.sub?.isReady) return;
    this.isUp = true;
    if (this.outageLogged) {
      this.outageLogged = false;
      this.logger.log('Redis reachable again: cross-instance delivery resumed');
    }
    this.handlers.up.forEach((fn) => fn());
  }
}

/** Makes these commands settle quietly on failure (the outage is logged once, by `lost`). */
function quiet(client: Client, names: string[], onFailure: () => void): void {
  const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  for (const name of names) {
    const command = commands[name].bind(client);
    commands[name] = (...args) => command(...args).catch(onFailure);
  }
}
