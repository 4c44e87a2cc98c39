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
/** The wake-up lock's first key, as InboxSqlWake's `inbox_store` tries it; the second is the listening backend's pid. */
const WAKE_LOCK = 1735289205;
/** Held shared by every call from before it reads inbox_sql_listener to its end (InboxSqlWake). */
const REGISTRY_LOCK = 1735289206;
/** Reads while a producer's transaction that did not NOTIFY is open: 1 ms after the last, doubling up to this. */
const MAX_POLL_MS = 32;
/** After a failed read: the rows are stored, the next read gets them. */
const RETRY_MS = 1000;

/**
 * Delivers what other backends stored with the SQL functions (`inbox_notify`, `inbox_broadcast`,
 * `inbox_publish`), on every gateway instance, to that instance's own sockets.
 *
 * What is delivered is read by transaction visibility, as the catch-up reads: the `via_sql`
 * rows of every transaction the previous read's snapshot did not see (begun after it, or
 * running then) that are visible now; the next read starts from this read's snapshot. Rows
 * committed in any order, by any client, are delivered once each; after the connection comes
 * back (Postgres restarted), one read catches up on what committed meanwhile.
 *
 * When to read (InboxSqlWake migration): a NOTIFY on every producer's commit would make those
 * commits one at a time (Postgres locks the notify queue through each commit). So a read that
 * found rows is followed by another at once; a read that found none **arms** the listener
 * (its wake-up lock, taken only when no producer's transaction that saw it unarmed is still
 * open) and reads once more, then waits. Producers NOTIFY only an armed listener; a wake-up
 * disarms it. Idle, it runs no query; under load no producer NOTIFYs. While a producer's
 * transaction stays open without committing, it reads every MAX_POLL_MS at most. Without the
 * migration's table (a schema not yet migrated), it never arms, and every commit NOTIFYs.
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
  /** This connection is in inbox_sql_listener: producers NOTIFY it only when it is armed. */
  private registered = false;
  /** This connection holds its wake-up lock: the next producer's commit NOTIFYs. */
  private armed = false;
  /** Every call that read inbox_sql_listener before this connection's row was there has ended. */
  private known = false;
  /** Ends the pause between two reads early (a wake-up, or the module stopping). */
  private endPause?: () => void;

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
    this.endPause?.();
    if (this.registered) await this.client?.query(`DELETE FROM inbox_sql_listener WHERE pid = pg_backend_pid()`).catch(() => undefined);
    await this.client?.end().catch(() => undefined);
    await this.reading;
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = listenerClient(this.dataSource);
    this.client = client;
    client.on('notification', () => {
      if (this.client !== client) return;
      if (this.armed) this.disarm(client);
      this.wake();
    });
    const lost = (err?: Error) => {
      if (this.client !== client || this.stopped) return;
      this.client = undefined;
      this.listening = false;
      this.registered = false;
      this.known = false;
      this.armed = false; // the session's locks went with it
      this.logger.warn(`SQL producers: listening connection lost (${err?.message ?? 'closed'}); reconnecting`);
      client.end().catch(() => undefined);
      this.retry = setTimeout(() => void this.connect(), RECONNECT_MS);
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${SQL_PRODUCERS_CHANNEL}`);
      const registered = await this.register(client);
      this.listening = this.client === client;
      this.registered = registered && this.listening;
      // Listening from here on; the first snapshot is now, later ones come from each read.
      this.since ??= await this.feed.sqlSnapshot();
      this.wake(); // what committed while the connection was down
    } catch (err) {
      lost(err as Error);
    }
  }

  /**
   * Puts this connection's backend in inbox_sql_listener, and takes out those of listeners no
   * longer running. False on a schema without the table (not migrated yet): producers then NOTIFY always.
   */
  private async register(client: ListenerClient): Promise<boolean> {
    try {
      await client.query(
        `DELETE FROM inbox_sql_listener l WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.pid);
         INSERT INTO inbox_sql_listener (pid) VALUES (pg_backend_pid()) ON CONFLICT (pid) DO NOTHING`,
      );
      return true;
    } catch (err) {
      if ((err as { code?: string }).code !== '42P01') throw err;
      this.logger.warn('SQL producers: no table inbox_sql_listener (run the InboxSqlWake migration): every SQL call will NOTIFY');
      return false;
    }
  }

  /** Reads now, or once more after the read in progress (wake-ups during a read are merged). */
  private wake(): void {
    if (this.reading) {
      this.again = true;
      this.endPause?.();
      return;
    }
    this.reading = this.readLoop().finally(() => (this.reading = undefined));
  }

  /**
   * Reads until a read finds nothing and the listener is armed (or cannot arm: not registered,
   * or the connection is down, which reconnecting ends with a read).
   */
  private async readLoop(): Promise<void> {
    let pause = 0;
    while (!this.stopped) {
      this.again = false;
      let found: number;
      try {
        found = await this.read();
      } catch (err) {
        // The rows are stored: read them again shortly (producers do not NOTIFY an unarmed listener).
        this.logger.warn(`SQL producers: read failed: ${(err as Error).message}`);
        await this.pause(RETRY_MS);
        continue;
      }
      const client = this.client;
      if (found > 0 || this.again) {
        // Busy: the next read at once, and no producer need NOTIFY meanwhile.
        if (found > 0 && this.armed && client) this.disarm(client);
        pause = 0;
        continue;
      }
      if (this.armed || !this.registered || !client || !this.listening) return;
      // Nothing new: arm, then one more read for what committed before (then wait), or, while a
      // producer's transaction that found us unarmed is open, read again shortly.
      if (await this.arm(client)) continue;
      pause = Math.min(MAX_POLL_MS, pause * 2 || 1);
      await this.pause(pause);
    }
  }

  /**
   * Takes the wake-up lock if no producer holds it shared (an open transaction that did not
   * NOTIFY), and, after registering, once no call that did not know of this listener is open.
   */
  private async arm(client: ListenerClient): Promise<boolean> {
    try {
      if (!this.known) {
        const { rows } = await client.query<{ known: boolean }>(
          `SELECT CASE WHEN pg_try_advisory_lock(${REGISTRY_LOCK}, 0) THEN pg_advisory_unlock(${REGISTRY_LOCK}, 0) ELSE false END AS known`,
        );
        this.known = rows[0].known && this.client === client;
        if (!this.known) return false;
      }
      const { rows } = await client.query<{ armed: boolean }>(`SELECT pg_try_advisory_lock(${WAKE_LOCK}, pg_backend_pid()) AS armed`);
      this.armed = rows[0].armed && this.client === client;
    } catch {
      // The connection is going: reconnecting reads again.
    }
    return this.armed;
  }

  /** Lets producers commit without a NOTIFY again (queued on the connection before any later arm). */
  private disarm(client: ListenerClient): void {
    this.armed = false;
    client.query(`SELECT pg_advisory_unlock(${WAKE_LOCK}, pg_backend_pid())`).catch(() => undefined);
  }

  private pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.endPause = done;
    }).finally(() => (this.endPause = undefined));
  }

  /** One read: delivers the rows that committed since the last, plans their channel sends; how many. */
  private async read(): Promise<number> {
    if (!this.since) return 0;
    const { rows, channels, next, complete } = await this.feed.sqlCommittedSince(this.since, this.delivered);
    if (rows.length > 0) {
      this.recounter.refreshHere(this.emitter.deliver(rows, { local: true }));
      this.telemetry.recordDelivered('sql', rows);
    }
    // Their channel sends, with the notifications' own `channels` (stored in the row by the SQL
    // door): every listening instance plans the same rows, and the send's primary key keeps one.
    if (rows.length > 0 && this.planner.enabled) void this.planner.plan(rows, channels);
    if (complete) {
      this.since = next;
      this.delivered = [];
    } else {
      this.delivered.push(...rows.map((row) => row.id));
      this.again = true; // more than one read's worth: the rest next, from the same snapshot
    }
    return rows.length;
  }
}
