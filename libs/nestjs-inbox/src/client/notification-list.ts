import type { NotificationPayload, ReadPayload } from '../protocol';

/**
 * Pure operations on the list the client holds: newest first, one entry per id. Ids are
 * decimal strings of Postgres bigints, so they compare by length first (no leading zeros),
 * then lexicographically — exact past 2^53, unlike `Number`.
 */
export function compareIds(a: string, b: string): number {
  if (a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The larger of two ids; `undefined` counts as smaller than any id. */
export function maxId(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareIds(a, b) >= 0 ? a : b;
}

/**
 * Merges `incoming` into `held` (ordered by id desc). Returns the new list and the items that
 * were not held before; an id already held keeps its entry, except that a newer read state wins.
 */
export function mergeNotifications(
  held: readonly NotificationPayload[],
  incoming: readonly NotificationPayload[],
): { items: NotificationPayload[]; added: NotificationPayload[] } {
  const byId = new Map(held.map((n) => [n.id, n]));
  const added: NotificationPayload[] = [];
  let changed = false;
  for (const n of incoming) {
    const old = byId.get(n.id);
    if (!old) {
      byId.set(n.id, n);
      added.push(n);
      changed = true;
    } else if (!old.readAt && n.readAt) {
      byId.set(n.id, { ...old, readAt: n.readAt });
      changed = true;
    }
  }
  if (!changed) return { items: held as NotificationPayload[], added };
  const items = [...byId.values()].sort((a, b) => compareIds(b.id, a.id));
  return { items, added };
}

/** Marks the notifications a `notifications:read` names (or all) as read at `at`. */
export function applyRead(items: readonly NotificationPayload[], read: ReadPayload, at: string): NotificationPayload[] {
  const ids = 'all' in read ? null : new Set(read.ids);
  return items.map((n) => (!n.readAt && (ids === null || ids.has(n.id)) ? { ...n, readAt: at } : n));
}
