import type { Actor } from '../protocol';
import { fill, type InboxMessages } from './messages';

/**
 * What a grouped notification carries (the contract's Groups): `count` notifications grouped, the
 * latest distinct actors (at most five), newest first.
 */
export interface NotificationGroup {
  key: string;
  count: number;
  actors: Actor[];
}

/** "Alice and 2 others" for a group, else `null` (no group, or nobody named in it). */
export function groupText(group: NotificationGroup | null | undefined, t: Pick<InboxMessages, 'groupOne' | 'groupMany'>): string | null {
  if (!group || !Array.isArray(group.actors) || group.actors.length === 0) return null;
  const name = group.actors[0]?.name ?? '';
  if (!name) return null;
  // `actors` holds at most five: past that, `count` is the better measure of how many others.
  const others = group.actors.length >= 5 ? Math.max(group.count - 1, group.actors.length - 1) : group.actors.length - 1;
  if (others <= 0) return name;
  return fill(others === 1 ? t.groupOne : t.groupMany, { name, count: others });
}
