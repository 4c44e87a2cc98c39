/**
 * The kinds of notification the demo sends, as its page shows them (one tab each, one mute
 * switch each). `system` notices are not the user's to mute: the module's `mutable` option says so,
 * and the page greys the switch out.
 */
export const DEMO_TYPES = [
  { type: 'private-message', label: 'Messages', mutable: true },
  { type: 'announcement', label: 'Announcements', mutable: true },
  { type: 'publish', label: 'Topics', mutable: true },
  { type: 'system', label: 'System', mutable: false },
] as const;

/** The module's `mutable` option: may a user mute notifications of `type`? */
export function isMutable(type: string): boolean {
  return type !== 'system';
}

/** Where a user's avatar is: the demo draws one per name (`AvatarController`), on its own origin. */
export function avatarUrl(name: string): string {
  return `/avatars/${encodeURIComponent(name)}.svg`;
}
