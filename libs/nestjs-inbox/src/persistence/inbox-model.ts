import type { FilterState, StateChange } from '../protocol';

/** What the persistence layer reads and changes of an inbox: views of it, and state changes. */

/** A filter once validated: every field in the form the SQL needs. */
export interface View {
  types?: string[];
  topic?: string;
  /** `inbox` (the default): neither archived nor deleted. */
  state: FilterState | 'inbox';
  tags?: string[];
  before?: string;
  after?: string;
  /** Newer than this SQL expression's id (a column of a batch: a catch-up's cursor). */
  afterSql?: string;
}

/** The inbox: every notification neither archived nor deleted. */
export const INBOX: View = { state: 'inbox' };

/**
 * A change InboxStateRepository.mark makes to notifications (a snooze is a delete plus a snooze
 * row, see SnoozeRepository). `deleted` has other names at the doors: see CHANGES in
 * service/state-changes.ts.
 */
export type Mark = Exclude<StateChange, 'snoozed'>;
