import { parse } from 'cookie';
import type { Handshake } from './session-source';

/**
 * The cookies of a handshake, undecoded: signatures are computed over the raw value, as
 * `cookies` (cookie-session) reads it; a session id never needs URI-decoding beyond `%`.
 */
export function handshakeCookies(handshake: Handshake, decode?: (v: string) => string): Record<string, string | undefined> {
  const header = handshake.headers.cookie;
  return header ? parse(header, decode ? { decode } : undefined) : {};
}
