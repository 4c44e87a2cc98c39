/**
 * The demo's workspaces: each is a scope of nestjs-inbox (its own feed, badge and preferences;
 * site-wide notices show in all). Every demo user belongs to both; a real site asks its
 * membership table in `canAccessScope`.
 */
export const DEMO_WORKSPACES = [
  { id: 'acme', name: 'Acme' },
  { id: 'globex', name: 'Globex' },
] as const;

export function isWorkspace(scope: unknown): scope is string {
  return DEMO_WORKSPACES.some((w) => w.id === scope);
}

/** The module's `canAccessScope` option: may `userId` open a socket in `scope`? */
export function canAccessWorkspace(_userId: string, scope: string): boolean {
  return isWorkspace(scope);
}
