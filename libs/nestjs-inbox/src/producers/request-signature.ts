import { createHmac, timingSafeEqual } from 'node:crypto';
import { NotificationsError } from '../notifications.errors';

/** The header of a signed producer request (Node lowercases incoming header names). */
export const SIGNATURE_HEADER = 'x-inbox-signature';

/** A signature older or newer than this is refused: a captured request cannot be replayed later. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

/** `t` and the `v1` signatures of a header, once its form and its age are checked. */
export interface SignatureClaim {
  t: string;
  v1: Buffer[];
}

const refuse = (reason: string) => new NotificationsError('UNAUTHORIZED', `signature: ${reason}`);

/**
 * Reads `t=<unix seconds>,v1=<hex>` (several `v1` are accepted, so a producer can sign with an
 * old and a new secret while they rotate; unknown keys are left for later versions) and checks
 * its age, before the body is read: a stale or malformed request costs no body and no HMAC.
 */
export function readSignatureHeader(header: string | string[] | undefined, nowMs = Date.now()): SignatureClaim {
  if (header === undefined || header === '') throw refuse('no X-Inbox-Signature header');
  if (Array.isArray(header)) throw refuse('more than one X-Inbox-Signature header');
  let t: string | undefined;
  const v1: Buffer[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const [key, value] = [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    if (key === 't' && /^\d{1,12}$/.test(value)) t = value;
    else if (key === 'v1' && /^[0-9a-f]{64}$/i.test(value)) v1.push(Buffer.from(value, 'hex'));
  }
  if (t === undefined || v1.length === 0) {
    throw refuse('X-Inbox-Signature must be t=<unix seconds>,v1=<hex HMAC-SHA256>');
  }
  const skew = Math.round(Math.abs(nowMs / 1000 - Number(t)));
  if (skew > SIGNATURE_TOLERANCE_SECONDS) {
    throw refuse(`stale: t is ${skew} s away from the server's clock, at most ${SIGNATURE_TOLERANCE_SECONDS} s`);
  }
  return { t, v1 };
}

/** HMAC-SHA256 of `t + '.' + body` under `secret`: what a producer puts in `v1`. */
export function signatureOf(secret: string, t: string, body: Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest();
}

/** Throws `UNAUTHORIZED` unless one `v1` is the HMAC of these exact bytes, compared in constant time. */
export function checkSignature(claim: SignatureClaim, secret: string, body: Uint8Array): void {
  const expected = signatureOf(secret, claim.t, body);
  // Every candidate is compared, so the time taken does not tell which one was close.
  let match = false;
  for (const candidate of claim.v1) match = timingSafeEqual(candidate, expected) || match;
  if (!match) throw refuse('does not match the body (HMAC-SHA256 of t + "." + the raw body, with the shared secret)');
}

/** The header value for `body`, as a producer computes it (for Node producers and tests). */
export function signRequest(secret: string, body: Uint8Array | string, nowMs = Date.now()): string {
  const t = String(Math.floor(nowMs / 1000));
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  return `t=${t},v1=${signatureOf(secret, t, bytes).toString('hex')}`;
}
