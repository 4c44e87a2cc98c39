/**
 * The module's `mutable` option: may a user mute notifications of `type`? `system` notices are the
 * site's own, not the user's to mute (the page's preferences list the demo's other kinds).
 */
export function isMutable(type: string): boolean {
  return type !== 'system';
}

/** Where a user's avatar is: the demo draws one per name (`AvatarController`), on its own origin. */
export function avatarUrl(name: string): string {
  return `/avatars/${encodeURIComponent(name)}.svg`;
}
