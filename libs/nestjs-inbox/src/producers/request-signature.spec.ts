import { createHmac } from 'node:crypto';
import { NotificationsError } from '../notifications.errors';
import { checkSignature, readSignatureHeader, signRequest } from './request-signature';

describe('X-Inbox-Signature', () => {
  const secret = 's'.repeat(40);
  const body = Buffer.from('{"to":"a","notification":{"type":"t"}}');
  const now = 1_800_000_000_000;
  const hmac = (t: number, bytes: Buffer, key = secret) => createHmac('sha256', key).update(`${t}.`).update(bytes).digest('hex');

  it('accepts HMAC-SHA256(secret, t + "." + raw body), as the README tells producers to compute it', () => {
    const header = `t=${now / 1000},v1=${hmac(now / 1000, body)}`;
    expect(signRequest(secret, body, now)).toBe(header);
    expect(() => checkSignature(readSignatureHeader(header, now), secret, body)).not.toThrow();
  });

  it('accepts any of several v1 (secret rotation) and ignores unknown keys', () => {
    const header = ` t=${now / 1000}, v1=${hmac(now / 1000, body, 'old'.repeat(11))}, v2=abc, v1=${hmac(now / 1000, body)}`;
    expect(() => checkSignature(readSignatureHeader(header, now), secret, body)).not.toThrow();
  });

  it.each<[string, string | undefined, RegExp]>([
    ['no header', undefined, /no X-Inbox-Signature header/],
    ['no v1', `t=${now / 1000}`, /must be t=<unix seconds>,v1=<hex HMAC-SHA256>/],
    ['a short v1', `t=${now / 1000},v1=abcd`, /must be t=/],
    ['a non-numeric t', `t=soon,v1=${'0'.repeat(64)}`, /must be t=/],
    ['a signature 301 s old', `t=${now / 1000 - 301},v1=${'0'.repeat(64)}`, /stale: t is 301 s away/],
    ['a signature 301 s ahead', `t=${now / 1000 + 301},v1=${'0'.repeat(64)}`, /stale: t is 301 s away/],
  ])('refuses %s before the body is read', (_name, header, message) => {
    expect(() => readSignatureHeader(header, now)).toThrow(NotificationsError);
    expect(() => readSignatureHeader(header, now)).toThrow(message);
  });

  it('refuses a signature of other bytes, another time or another secret', () => {
    const t = now / 1000;
    for (const header of [
      `t=${t},v1=${hmac(t, Buffer.from(body.toString().replace('"a"', '"b"')))}`,
      `t=${t},v1=${hmac(t - 1, body)}`,
      `t=${t},v1=${hmac(t, body, 'another secret of enough length 1234')}`,
    ]) {
      expect(() => checkSignature(readSignatureHeader(header, now), secret, body)).toThrow(/does not match the body/);
    }
  });
});
