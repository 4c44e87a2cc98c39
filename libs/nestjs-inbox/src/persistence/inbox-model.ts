import type { FilterState, StateChange } from '../protocol';

/** What the persistence layer reads and changes of an inbox: views of it, and state changes. */

/**
 * One user's inbox in one scope (docs/scopes.md): `scope: null` is the unscoped inbox, which
 * shows only unscoped notifications; the inbox of a scope shows that scope's and the unscoped
 * ones. Every read and change of a user's state is of one inbox.
 */
export interface Inbox {
  userId: string;
  scope: string | null;
}

/**
 * A Map key for an inbox. User ids and scopes never hold NUL (refused at every door), and ''
 * is refused as a scope, so it stands for the unscoped inbox here as it does in the tables
 * (`scope = ''`): `${userId}\0${scope ?? ''}`.
 */
export function inboxKey(inbox: Inbox): string {
  return `${inbox.userId}\u0000${inbox.scope ?? ''}`;
}

/** The inbox a key names (inboxKey's inverse). */
export function inboxOfKey(key: string): Inbox {
  const at = key.indexOf('\u0000');
  const scope = key.slice(at + 1);
  return { userId: key.slice(0, at), scope: scope === '' ? null : scope };
}

/** An inbox's scope as the tables hold it: '' for the unscoped inbox. */
export const scopeColumn = (inbox: Inbox): string => inbox.scope ?? '';

/** A filter once validated: every field in the form the SQL needs. */
export interface View {
  types?: string[];
  topic?: string;
  /** `inbox` (the default): neither archived nor deleted. */
  state: FilterState | 'inbox';
  tags?: string[];
  before?: string;
  after?: string;
  /**
   * Every notification of this group of the user's (docs/groups.md), the superseded ones too:
   * the group's detail list. Only direct rows have groups.
   */
  group?: string;
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
