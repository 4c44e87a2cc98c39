/**
 * The text rules of the protocol (a scope, a link), checked the same by the server's every door
 * and by the browser client. Imports nothing (the client bundles it).
 */

/** Longest scope (a workspace, a tenant): see docs/scopes.md. */
export const MAX_SCOPE_LENGTH = 200;
/** Half of a UTF-16 surrogate pair without its other half (UTF-8, and so Postgres, cannot hold it). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * Why `value` is not a scope, or `null`: a string of 1 to `MAX_SCOPE_LENGTH` characters without
 * NUL or a lone surrogate. `null`/absent (unscoped) is the caller's to allow. Here so that the
 * server's every door and the browser client check the same rule.
 */
export function scopeProblem(value: unknown): string | null {
  if (typeof value !== 'string') return 'must be a string (or null for unscoped)';
  if (value.length === 0) return 'must be a non-empty string (or null for unscoped)';
  if (value.length > MAX_SCOPE_LENGTH) return `must be at most ${MAX_SCOPE_LENGTH} characters`;
  if (value.includes('\0')) return 'must not contain NUL characters';
  if (LONE_SURROGATE.test(value)) return 'must not contain a lone UTF-16 surrogate (not valid Unicode)';
  return null;
}

/** Longest link a notification carries (`url`, an action's `url`, `actor.avatarUrl`). */
export const MAX_URL_LENGTH = 2048;
/** C0 and C1 controls and DEL: browsers drop tabs and newlines inside a URL, so `/\t/host` is `//host`. */
// eslint-disable-next-line no-control-regex -- control characters are what it looks for
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** `http(s)://` and a host: the form the SQL functions check too (InboxPresentation migration). */
const ABSOLUTE_URL = /^https?:\/\/[^/?#\s]+(?:[/?#]|$)/i;

/**
 * Why `s` is not a link a browser may follow from a notification, or `null`. Only `http(s)`
 * URLs and site-relative paths: anything else (`javascript:`, `data:`, `//host`, `/\host`, which
 * browsers read as `//host`) would run script or leave the site. Stored as given, not normalised.
 */
export function urlProblem(s: string): string | null {
  if (s.length > MAX_URL_LENGTH) return `must be at most ${MAX_URL_LENGTH} characters`;
  if (CONTROL_CHARS.test(s)) return 'must not contain control characters';
  if (s.includes('\\')) return 'must not contain backslashes';
  if (s.startsWith('/') && !s.startsWith('//')) return null;
  if (ABSOLUTE_URL.test(s)) {
    try {
      const { protocol } = new URL(s);
      if (protocol === 'http:' || protocol === 'https:') return null;
    } catch {
      // not a URL: the message below
    }
  }
  return 'must be an http(s) URL or a site-relative path starting with a single /';
}
