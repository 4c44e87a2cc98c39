import { scopeProblem, type Action, type Filter, type NotificationPayload, type Selection } from '../protocol';
import { InboxError } from './inbox.errors';

/** Notifications named by id (one or several), or every notification of the user a filter selects. */
export type InboxSelection = string | readonly string[] | Filter;

/** The protocol's selection for what a page passed: `{ ids }` or `{ filter }` (a copy either way). */
export function selectionOf(selection: InboxSelection): Selection {
  if (typeof selection === 'string') return { ids: [selection] };
  if (Array.isArray(selection)) return { ids: [...(selection as readonly string[])] };
  return { filter: { ...(selection as Filter) } };
}

/** `scope` if it is one (or `null`); else throws the `INVALID_INPUT` the server would answer. */
export function checkedScope(scope: string | null): string | null {
  const problem = scope === null ? null : scopeProblem(scope);
  if (problem !== null) throw new InboxError('INVALID_INPUT', `scope: ${problem}`);
  return scope;
}

/** Which of the notification's actions `action` is (the object itself, or one with its label, event and url); -1 if none. */
export function actionIndex(notification: NotificationPayload, action: Action): number {
  return notification.actions.findIndex(
    (a) => a === action || (a.label === action.label && a.event === action.event && a.url === action.url),
  );
}
