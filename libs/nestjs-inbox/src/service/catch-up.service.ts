import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { memberRooms } from '../notifications.internal-constants';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { Coalescer, Pending } from '../persistence/coalescer';
import { type Inbox, inboxKey } from '../persistence/inbox-model';
import { NotificationRow, toPayload } from '../persistence/notification-row';
import { Badge, CatchUpRead, InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { SubscriptionRepository } from '../persistence/repositories/subscription.repository';
import type { NotificationPayload } from '../protocol';

/** What a connecting socket is sent before `notifications:synced`. */
export interface CatchUp {
  /** Oldest first. */
  missed: NotificationPayload[];
  unread: number;
  unseen: number;
  /** More were missed than `catchUpLimit`: the client pages older ones with `list`. */
  truncated: boolean;
  /** Where the client's next catch-up may start if it holds nothing newer (see SyncedPayload.cursor). */
  cursor: string | null;
}

/**
 * Statements in flight at once per kind of read; the handshakes that arrive meanwhile are read
 * together in the next one. A reconnect storm of 5,000 sockets then costs tens of statements
 * instead of 15,000 (each one a pool round trip), which is what made it slow (bench:scale).
 */
const IN_FLIGHT = 2;
/** Sockets read by one statement at most. */
const BATCH = 200;
/**
 * The second statement in flight only for a full batch: with two for any batch, a storm of 10,000
 * first visits (bench 8) went in batches of one or two sockets, ~1 transaction per connection,
 * whose round trips (each a write that wakes a Postgres backend) were a large part of the
 * server's CPU per connection; one at a time, 30-40% fewer transactions (docs/performance.md,
 * "Connect time"). A lone socket still goes at once, and a storm of returns with long catch-ups
 * still reads two full batches at once.
 */
const LIMITS = { inFlight: IN_FLIGHT, batch: BATCH, partialInFlight: 1 };
/**
 * Catch-up rows handed to the sockets of a batch per event-loop turn. Each socket's catch-up is
 * sent when it is handed over (one frame per row, all in the turn its read resolves): 200
 * sockets back from an outage, each missing `catchUpLimit` (1000) rows, would be 200,000 frames
 * in one turn, seconds in which no other socket of the instance is served. Between chunks the
 * loop turns (setImmediate: after I/O), so one turn sends about this many frames at most (plus
 * one socket's catch-up: a socket's is never split).
 */
export const CATCH_UP_ROWS_PER_TURN = 2000;

/** One turn of the event loop, after pending I/O. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The reads of a connection, in the order the gateway needs them: the user's topics (to join
 * their rooms before anything is read), then what the client missed since its cursor. Both
 * coalesce the handshakes of many sockets into one statement.
 */
@Injectable()
export class CatchUpService {
  private readonly rooms = new Coalescer<Inbox, string[]>((batch) => this.readRooms(batch), LIMITS);
  private readonly firstVisits = new Coalescer<CatchUpRead, CatchUp>((batch) => this.readCatchUps(batch), LIMITS);
  private readonly returns = new Coalescer<CatchUpRead, CatchUp>((batch) => this.readCatchUps(batch), LIMITS);

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly subscriptions: SubscriptionRepository,
    private readonly reads: InboxReadRepository,
  ) {}

  /** The rooms a socket of `inbox` joins besides its user's (subscribed topics, muted types). */
  roomsOf(inbox: Inbox): Promise<string[]> {
    return this.rooms.add(inbox);
  }

  /**
   * Everything newer than `cursor` (gapless, see catchUpsSql), at most
   * `catchUpLimit`, less the older rows the client says it holds (`held`), and the unread
   * count; without a cursor, the newest `listLimit.default` (a first visit gets the newest page,
   * as the inbox shows it; older ones come through `list`).
   */
  since(inbox: Inbox, cursor: string | null, held: string[] = []): Promise<CatchUp> {
    return (cursor === null ? this.firstVisits : this.returns).add({ inbox, cursor, held });
  }

  private async readRooms(batch: Pending<Inbox, string[]>[]): Promise<void> {
    const inboxes = new Map(batch.map((call) => [inboxKey(call.input), call.input]));
    const rooms = await this.subscriptions.roomsOfMany([...inboxes.values()]);
    for (const call of batch)
      call.resolve(memberRooms(rooms.get(inboxKey(call.input)) ?? { topics: [], mutedTypes: [] }, call.input.scope));
  }

  private async readCatchUps(batch: Pending<CatchUpRead, CatchUp>[]): Promise<void> {
    const limit = batch[0].input.cursor === null ? this.options.listLimit.default : this.options.catchUpLimit;
    const reads = await this.reads.catchUps(
      batch.map((call) => call.input),
      limit + 1,
      this.options.catchUpGraceMs,
    );
    let rows = 0;
    for (const [i, call] of batch.entries()) {
      if (rows >= CATCH_UP_ROWS_PER_TURN) {
        rows = 0;
        // The sockets handed over so far send their catch-ups (microtasks) before the turn ends.
        await nextTurn();
      }
      rows += reads[i].rows.length;
      call.resolve(catchUp(reads[i], limit, call.input.cursor !== null));
    }
  }
}

function catchUp(read: { rows: NotificationRow[]; badge: Badge; newest: string | null }, limit: number, withCursor: boolean): CatchUp {
  const truncated = read.rows.length > limit;
  // A truncated catch-up from a cursor left a gap below what it sent: the client must not skip it.
  const cursor = truncated && withCursor ? null : read.newest;
  return { missed: read.rows.slice(0, limit).reverse().map(toPayload), ...read.badge, truncated, cursor };
}
