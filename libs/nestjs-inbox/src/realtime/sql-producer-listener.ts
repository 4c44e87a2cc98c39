import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { ChannelPlanner } from '../channels/channel-planner';
import { listenerClient, type ListenerClient } from '../compat/typeorm.compat';
import { INBOX_DATA_SOURCE, NOTIFICATIONS_GATEWAY } from '../notifications.internal-constants';
import { InboxTelemetry } from '../observability/inbox-telemetry';
import { SqlFeedRepository, SqlSnapshot } from '../persistence/repositories/sql-feed.repository';
import { RoomEmitter } from './room-emitter';
import { UnreadRecounter } from './unread-recounter';

/** The channel the SQL functions NOTIFY on commit (see the InboxSqlProducers migration). */
export const SQL_PRODUCERS_CHANNEL = 'nestjs_inbox';
/** Wait before reconnecting the listening connection after it dropped (Postgres restarting). */
const RECONNECT_MS = 1000;

/**
 * Delivers what other backends stored with the SQL functions (`inbox_notify`, `inbox_broadcast`,
 * `inbox_publish`), on every gateway instance, to that instance's own sockets.
 *
 * The NOTIFY is only a wake-up: Postgres sends it when the producer's transaction commits, so
 * one is never seen for a rollback, but several commits may share one read, and none arrives
 * while the listening connection is down. What is delivered is read by transaction visibility,
 * as the catch-up reads: the `via_sql` rows of every transaction the previous read's snapshot
 * did not see (begun after it, or running then) that are visible now; the next read starts from
 * this read's snapshot. Rows committed in any order, by any client, are delivered once each;
 * after the connection comes back (Postgres restarted), one read catches up on what committed
 * meanwhile.
 */
@Injectable()
export class SqlProducerListener implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('NotificationsModule');
  private client?: ListenerClient;
  private since?: SqlSnapshot;
  /** Delivered by a read that stopped at SQL_BATCH rows: the next one, from the same snapshot, leaves them out. */
  private delivered: string[] = [];
  private reading?: Promise<void>;
  private again = false;
  private stopped = false;
  private retry?: NodeJS.Timeout;
  /** LISTEN is in place on the current connection. */
  private listening = false;

  constructor(
    @Inject(NOTIFICATIONS_GATEWAY) private readonly gateway: boolean,
    @Inject(INBOX_DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly feed: SqlFeedRepository,
    private readonly emitter: RoomEmitter,
    private readonly recounter: UnreadRecounter,
    private readonly telemetry: InboxTelemetry,
    private readonly planner: ChannelPlanner,
  ) {}

  /** For the health check: `off` in a producer-only process, which does not listen. */
  get state(): 'off' | 'up' | 'down' {
    return !this.gateway ? 'off' : this.listening ? 'up' : 'down';
  }

  async onApplicationBootstrap(): Promise<void> {
    // Only a gateway has sockets to deliver to; a producer-only process does not listen.
    if (!this.gateway) return;
    await this.connect();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    this.listening = false;
    clearTimeout(this.retry);
    await this.client?.end().catch(() => undefined);
    await this.reading;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = listenerClient(this.dataSource);
    this.client = client;
    client.on('notification', () => this.wake());
    const lost = (err?: Error) => {
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      this.listening = false;
      this.logger.warn(`SQL producers: listening connection lost (${err?.message ?? 'closed'}); reconnecting`);
      client.end().catch(() => undefined);
      this.retry = setTimeout(() => void this.connect(), RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${SQL_PRODUCERS_CHANNEL}`);
      this.listening = this.client === client;
      // Listening from here on; the first snapshot is now, later ones come from each read.
      this.since ??= await this.feed.sqlSnapshot();
      this.wake(); // what committed while the connection was down
    } catch (err) {
      lost(err as Error);
    }
  }

  /** Reads now, or once more after the read in progress (wake-ups during a read are merged). */
  private wake(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readLoop().finally(() => (this.reading = undefined));
  }

  private async readLoop(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.read();
      } catch (err) {
        // The rows are stored: the next wake-up or reconnection reads them again.
        this.logger.warn(`SQL producers: read failed: ${(err as Error).message}`);
      }
    } while (this.again && !this.stopped);
  }

  private async read(): Promise<void> {
    if (!this.since) return;
    const { rows, next, complete } = await this.feed.sqlCommittedSince(this.since, this.delivered);
    if (rows.length > 0) {
      this.recounter.refreshHere(this.emitter.deliver(rows, { local: true }));
      this.telemetry.recordDelivered('sql', rows);
    }
    // Their channel sends, by the module's rules (the SQL door takes no `channels`): every
    // listening instance plans the same rows, and the send's primary key keeps one.
    if (rows.length > 0 && this.planner.enabled) void this.planner.plan(rows, []);
    if (complete) {
      this.since = next;
      this.delivered = [];
    } else {
      this.delivered.push(...rows.map((row) => row.id));
      this.again = true; // more than one read's worth: the rest next, from the same snapshot
    }
  }
}
