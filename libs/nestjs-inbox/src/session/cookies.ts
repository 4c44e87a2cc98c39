import { parse } from 'cookie';
import type { Handshake } from '../notifications.options';

/**
 * The cookies of a handshake, undecoded: signatures are computed over the raw value, as
 * `cookies` (cookie-session) reads it; a session id never needs URI-decoding beyond `%`.
 */
export function handshakeCookies(handshake: Handshake, decode?: (v: string) => string): Record<string, string | undefined> {
  const header = handshake.headers.cookie;
  return header ? parse(header, decode ? { decode } : undefined) : {};
}

/**
 * The refusal of a handshake without the session cookie. The site set it, so the browser kept it
 * back: the message names the usual reasons, since the browser's console shows nothing else.
 */
export function noSessionCookie(name?: string): string {
  const which = name ? `no session cookie '${name}'` : 'no session cookie';
  return (
    `${which} (check: the cookie's name; \`secure\` on a cookie served over plain http; ` +
    `SameSite when the page is on another site; a cookie path that does not cover /socket.io/)`
  );
}
