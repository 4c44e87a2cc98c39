import { Injectable } from '@nestjs/common';
import { InjectNotificationsOptions } from '../notifications.decorators';
import { InvalidInputError } from '../notifications.errors';
import type { ResolvedNotificationsOptions } from '../notifications.options';
import { EngagementEvents } from '../observability/engagement-events';
import { INBOX, type Inbox, inboxKey, type Mark, type View } from '../persistence/inbox-model';
import { InboxReadRepository } from '../persistence/repositories/inbox-read.repository';
import { InboxStateRepository } from '../persistence/repositories/inbox-state.repository';
import { SnoozeRepository } from '../persistence/repositories/snooze.repository';
import type { Filter, FilterState, StatePayload, StateResult } from '../protocol';
import { RoomEmitter } from '../realtime/room-emitter';
import { UnreadRecounter } from '../realtime/unread-recounter';
import { OneAtATime } from '../security/one-at-a-time';
import * as schema from '../validation/schemas';
import { toView } from '../validation/views';

/**
 * Notifications by id, or every one of the user's that a filter selects (`{}`: the inbox): the
 * service's form of the wire's `Selection` (`{ ids }` or `{ filter }`).
 */
export type IdsOrFilter = (string | number)[] | Filter;

/** Notifications one batch of a filtered state change reads and marks. */
const BULK_BATCH = 500;

/**
 * Changes by filter and snoozes of one user running or waiting at once on an instance (see
 * OneAtATime): one socket's event burst (eventRateLimit's default); more answer RATE_LIMITED.
 */
const MAX_QUEUED_CHANGES = 20;

/** How the engine runs one change. */
interface ChangeRule {
  /** How errors name it. */
  verb: string;
  /** The view a filtered change reads when the filter names no state: only what it can change. */
  batch: View['state'];
  /**
   * For the changes that apply to everything by watermarks: the filter states that mean
   * everything (`states`; seen and read also cover archived ones, so the tabs are told `filter`,
   * and delete needs `state: 'all'`, since the inbox alone leaves the archive), and the view
   * whose count before the change is reported as `changed` (`counted`: the unread ones changed;
   * for seen, the unseen ones).
   */
  whole?: { states: (FilterState | undefined)[]; filter: Filter; counted: View };
}

/**
 * One change has three names the contract fixes: `remove` (the service's method and the browser
 * client's), the client event `notifications:delete` (ClientEvent.Delete) and the state
 * `deleted` every tab is told. Inside the library it is the mark `deleted` throughout (here, in
 * the repositories and their SQL); `remove` is only the verb its errors name.
 */
const CHANGES: Record<Mark, ChangeRule> = {
  seen: {
    verb: 'markSeen',
    batch: 'unseen',
    whole: { states: [undefined, 'all', 'unseen'], filter: { state: 'all' }, counted: { state: 'unseen' } },
  },
  read: {
    verb: 'markRead',
    batch: 'unread',
    whole: { states: [undefined, 'all', 'unread'], filter: { state: 'all' }, counted: { state: 'all' } },
  },
  archived: { verb: 'archive', batch: 'inbox', whole: { states: [undefined, 'all'], filter: {}, counted: INBOX } },
  unarchived: { verb: 'unarchive', batch: 'archived' },
  deleted: { verb: 'remove', batch: 'inbox', whole: { states: ['all'], filter: { state: 'all' }, counted: { state: 'all' } } },
};

/**
 * The state-change engine: marks by ids or by filter, and snoozes, in one inbox (a user's, in a
 * scope or unscoped: docs/scopes.md); then the new badge, told to every tab of the user. Takes
 * an inbox already checked (the facade checks it first, so a bad one is the error named,
 * whatever else is wrong).
 */
@Injectable()
export class StateChanges {
  /** A user's changes by filter and snoozes, one at a time (see `change`). */
  private readonly oneAtATime = new OneAtATime(MAX_QUEUED_CHANGES);

  constructor(
    @InjectNotificationsOptions() private readonly options: ResolvedNotificationsOptions,
    private readonly reads: InboxReadRepository,
    private readonly states: InboxStateRepository,
    private readonly snoozes: SnoozeRepository,
    private readonly emitter: RoomEmitter,
    private readonly recounter: UnreadRecounter,
    private readonly engagement: EngagementEvents,
  ) {}

  /**
   * One state change, by ids or by filter. Everything (no filter beyond a state the change
   * covers anyway) moves watermarks: O(subscriptions). Other filters are applied in batches of
   * BULK_BATCH notifications, each one page read and one statement: O(what the filter selects),
   * at most `maxBulkRows`. A user's changes by filter run one at a time (OneAtATime), so that
   * 20 events of one socket cost one change's connection and rows at a time, not 20; by ids
   * (one statement, at most 1000 ids) they do not wait. `ids`: those changed (none for a filter).
   */
  async change(inbox: Inbox, change: Mark, idsOrFilter: IdsOrFilter): Promise<StateResult & { ids: string[] }> {
    const { verb, batch, whole } = CHANGES[change];
    if (Array.isArray(idsOrFilter)) {
      const ids = await this.states.mark(inbox, change, schema.parse(schema.idList, idsOrFilter, `${verb}: ids`));
      return { ...(await this.announce(inbox, ids.length, { ids, change })), ids };
    }
    const f = schema.parse(schema.filter, idsOrFilter, `${verb}: filter`);
    // Per user, whatever the scope: one user's work at a time, on a connection at a time.
    return this.oneAtATime.run(inbox.userId, verb, async () => {
      let changed: number;
      let state: StatePayload;
      if (whole && change !== 'unarchived' && Object.keys(f).every((k) => k === 'state') && whole.states.includes(f.state)) {
        changed = await this.states.markAll(inbox, change, whole.counted);
        state = { filter: whole.filter, change };
      } else {
        changed = await this.changeInBatches(inbox, change, { ...toView(f), state: f.state ?? batch }, verb);
        state = { filter: f, change };
      }
      return { ...(await this.announce(inbox, changed, state)), ids: [] };
    });
  }

  /**
   * Hides notifications until `until` (see NotificationService.snooze). Queued with the user's
   * changes by filter: each holds a transaction, and the user's snooze lock, while it runs, so a
   * burst waits here rather than on a connection each.
   */
  async snooze(inbox: Inbox, ids: (string | number)[], until: Date): Promise<StateResult> {
    const wanted = schema.parse(schema.idList, ids, 'snooze: ids');
    const when = schema.parse(schema.snoozeUntil, until, 'snooze: until');
    const { minSnoozeMs, maxSnoozed } = this.options;
    const away = when.getTime() - Date.now();
    if (away < minSnoozeMs) {
      throw new InvalidInputError(`snooze: until: must be at least ${minSnoozeMs} ms away (minSnoozeMs), got ${away} ms`);
    }
    return this.oneAtATime.run(inbox.userId, 'snooze', async () => {
      const snoozed = await this.snoozes.snooze(inbox, wanted, when, (pending, adding) => {
        if (pending + adding > maxSnoozed) {
          throw new InvalidInputError(
            `snooze: ids: ${adding} more would make ${pending + adding} pending snoozes, at most ${maxSnoozed} per user (maxSnoozed)`,
          );
        }
      });
      return this.announce(inbox, snoozed.length, { ids: snoozed, change: 'snoozed' });
    });
  }

  /**
   * After a change: the inbox's new badge, told to every tab of the user with what changed and
   * in which scope (a change by ids that changed none is not told). The user's other scopes'
   * counts may change too (through unscoped notifications): the recount is the user's.
   */
  private async announce(inbox: Inbox, changed: number, state: StatePayload): Promise<StateResult> {
    const badge = (await this.reads.badges([inbox])).get(inboxKey(inbox))!;
    if (changed > 0 || !('ids' in state)) {
      this.emitter.state(inbox, state, badge);
      this.recounter.markStale([inbox.userId]);
    }
    this.engagement.changed(inbox.userId, state, changed, inbox.scope);
    return { changed, ...badge };
  }

  /**
   * Refused, before anything is written, when the view holds more than `maxBulkRows` (counted
   * up to one more); else applied to the notifications counted: those up to the newest one
   * then (one that arrives meanwhile is newer, and stays as it is), and at most `maxBulkRows`
   * read, whatever enters the view below it meanwhile.
   */
  private async changeInBatches(inbox: Inbox, change: Mark, view: View, verb: string): Promise<number> {
    const max = this.options.maxBulkRows;
    const { count, newest } = await this.reads.countUpTo(inbox, view, max + 1);
    if (count > max) {
      throw new InvalidInputError(
        `${verb}: filter: selects more than ${max} notifications, at most ${max} per change (maxBulkRows); narrow it (a type, a state, before/after)`,
      );
    }
    if (newest === null) return 0;
    let changed = 0;
    let left = max;
    let before = String(BigInt(newest) + 1n);
    for (;;) {
      const limit = Math.min(BULK_BATCH, left);
      const rows = await this.reads.list(inbox, { ...view, before }, limit);
      if (rows.length > 0)
        changed += (
          await this.states.mark(
            inbox,
            change,
            rows.map((r) => r.id),
          )
        ).length;
      left -= rows.length;
      if (rows.length < limit || left === 0) return changed;
      before = rows[rows.length - 1].id;
    }
  }
}

/** A change's result without the ids it changed (only `markRead` answers them). */
export function withoutIds({ ids: _ids, ...result }: StateResult & { ids: string[] }): StateResult {
  return result;
}
