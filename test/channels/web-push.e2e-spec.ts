import { execFileSync } from 'node:child_process';
import { createDecipheriv, createECDH, createHmac, createPublicKey, randomBytes, verify } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import webpush from 'web-push';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { until } from '../support/smtp';

/** A push as the local push service received it. */
interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** A browser's side of a subscription: its P-256 key pair and auth secret, as PushSubscription.toJSON() gives them. */
function browserKeys() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const auth = randomBytes(16);
  return { ecdh, auth, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
}

const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();

/** RFC 8291 / 8188: decrypts an aes128gcm push body with the subscription's private key and auth secret. */
function decrypt(body: Buffer, ecdh: ReturnType<typeof createECDH>, auth: Buffer): string {
  const salt = body.subarray(0, 16);
  const idLength = body[20];
  const serverKey = body.subarray(21, 21 + idLength);
  const cipher = body.subarray(21 + idLength);
  const secret = ecdh.computeSecret(serverKey);
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), ecdh.getPublicKey(), serverKey, Buffer.from([1])]);
  const ikm = hmac(hmac(auth, secret), info);
  const prk = hmac(salt, ikm);
  const cek = hmac(prk, Buffer.from('Content-Encoding: aes128gcm\0\x01', 'binary')).subarray(0, 16);
  const nonce = hmac(prk, Buffer.from('Content-Encoding: nonce\0\x01', 'binary')).subarray(0, 12);
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(cipher.subarray(cipher.length - 16));
  const padded = Buffer.concat([decipher.update(cipher.subarray(0, cipher.length - 16)), decipher.final()]);
  // The last record ends with the delimiter 0x02, then padding zeros.
  return padded.subarray(0, padded.lastIndexOf(2)).toString('utf8');
}

/** Checks the VAPID header (RFC 8292): an ES256 JWT for the endpoint's origin, signed by the server's key `k`. */
function vapidClaims(authorization: string, publicKey: string): Record<string, unknown> {
  const m = /^vapid t=([^,]+), k=(.+)$/.exec(authorization);
  if (!m) throw new Error(`not a VAPID header: ${authorization}`);
  expect(m[2]).toBe(publicKey);
  const [header, payload, signature] = m[1].split('.');
  const raw = Buffer.from(publicKey, 'base64url');
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') },
    format: 'jwk',
  });
  const ok = verify('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  expect(ok).toBe(true);
  expect(JSON.parse(Buffer.from(header, 'base64url').toString())).toMatchObject({ alg: 'ES256' });
  return JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
}

describe('channels: Web Push to a local push service over HTTPS', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let dir: string;
  let server: https.Server;
  let origin: string;
  const received: Received[] = [];
  const vapid = { subject: 'mailto:ops@acme.example', ...webpush.generateVAPIDKeys() };
  let app: TestApp;
  const q = <T>(sql: string, params: unknown[] = []) => app.dataSource.query(sql, params) as Promise<T[]>;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    // A certificate made here, trusted by this process only (web-push speaks https alone).
    dir = mkdtempSync(join(tmpdir(), 'inbox-push-'));
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
    ], { stdio: 'ignore' }); // prettier-ignore
    const cert = readFileSync(join(dir, 'cert.pem'));
    https.globalAgent.options.ca = [cert];
    server = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.statusCode = req.url!.startsWith('/gone') ? 410 : req.url!.startsWith('/down') ? 500 : 201;
        res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `https://localhost:${(server.address() as AddressInfo).port}`;
    app = await startApp(db.url, {
      channels: { pollMs: 20, retryBaseMs: 20, maxAttempts: 2, webPush: { vapid, after: 0, ttl: 60, urgency: 'high' } },
    });
  });
  afterAll(async () => {
    await app?.close();
    await new Promise((r) => server?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('pushes an encrypted payload with a VAPID header to every device; a 410 deletes that subscription', async () => {
    const phone = browserKeys();
    const laptop = browserKeys();
    await app.service.pushSubscribe('pia', { endpoint: `${origin}/ok/pia`, expirationTime: null, keys: phone.keys });
    await app.service.pushSubscribe('pia', { endpoint: `${origin}/gone/pia`, expirationTime: null, keys: laptop.keys });
    const [n] = await app.service.notify('pia', { type: 'comment', title: 'Bob <b>replied</b>', body: 'hi', url: '/posts/1' });
    await until('the push is recorded', async () => (await app.service.channelHistory('pia')).length === 1);
    const push = received.find((r) => r.path === '/ok/pia')!;
    expect(push.headers['content-encoding']).toBe('aes128gcm');
    expect(push.headers.ttl).toBe('60');
    expect(push.headers.urgency).toBe('high');
    const claims = vapidClaims(String(push.headers.authorization), vapid.publicKey);
    expect(claims).toMatchObject({ aud: origin, sub: 'mailto:ops@acme.example' });
    expect(Number(claims.exp)).toBeGreaterThan(Date.now() / 1000);
    expect(JSON.parse(decrypt(push.body, phone.ecdh, phone.auth))).toEqual({
      id: n.id,
      type: 'comment',
      title: 'Bob <b>replied</b>',
      body: 'hi',
      url: '/posts/1',
      scope: null,
    });
    expect(await app.service.channelHistory('pia')).toMatchObject([
      { channel: 'webPush', outcome: 'sent', reason: '1 of 2 devices, 1 gone' },
    ]);
    expect(await q(`SELECT endpoint FROM inbox_push_subscription WHERE user_id = 'pia'`)).toEqual([{ endpoint: `${origin}/ok/pia` }]);
  });

  it('a push service failing is retried, then given up; a user without a subscription is skipped', async () => {
    await app.service.pushSubscribe('ray', { endpoint: `${origin}/down/ray`, keys: browserKeys().keys });
    await app.service.notify('ray', { type: 'comment', title: 'x' });
    await until('ray is given up', async () => (await app.service.channelHistory('ray')).some((h) => h.outcome === 'failed'));
    expect((await app.service.channelHistory('ray')).map((h) => h.outcome)).toEqual(['failed', 'retry']);
    await app.service.notify('sue', { type: 'comment', title: 'x' });
    await until('sue is skipped', async () => (await app.service.channelHistory('sue')).length === 1);
    expect((await app.service.channelHistory('sue'))[0]).toMatchObject({ outcome: 'skipped', reason: 'no push subscription' });
  });

  it('push:subscribe and push:unsubscribe over the socket; a malformed subscription is refused naming the field', async () => {
    const client = await TestClient.connect(app.url, 'tom');
    try {
      const keys = browserKeys().keys;
      expect(await client.request('push:subscribe', { endpoint: `${origin}/ok/tom`, expirationTime: null, keys })).toEqual({ ok: true });
      expect(await q(`SELECT endpoint FROM inbox_push_subscription WHERE user_id = 'tom'`)).toEqual([{ endpoint: `${origin}/ok/tom` }]);
      const refused = async (payload: object, message: RegExp) =>
        expect((await client.request<{ error: { code: string; message: string } }>('push:subscribe', payload)).error).toMatchObject({
          code: 'INVALID_INPUT',
          message: expect.stringMatching(message),
        });
      await refused({ endpoint: 'http://push.example/x', keys }, /push:subscribe: endpoint: must be an https URL/);
      await refused(
        { endpoint: `${origin}/x`, keys: { ...keys, p256dh: 'abc' } },
        /push:subscribe: keys\.p256dh: must be a P-256 public key/,
      );
      await refused({ endpoint: `${origin}/x`, keys: { ...keys, auth: undefined } }, /push:subscribe: keys\.auth/);
      expect(await client.request('push:unsubscribe', { endpoint: `${origin}/ok/tom` })).toEqual({ ok: true });
      expect(await q(`SELECT endpoint FROM inbox_push_subscription WHERE user_id = 'tom'`)).toEqual([]);
      // Channel preferences over the socket, per the socket's inbox.
      const prefs = await client.request('preferences:set', { channels: { webPush: { muted: true } } });
      // `availableChannels`: what this server sends on (Web Push only), for a settings page to show.
      expect(prefs).toMatchObject({ channels: { webPush: { muted: true, types: [] } }, quietHours: null, availableChannels: ['webPush'] });
      expect(
        (await client.request('preferences:set', { quietHours: { start: '7:00', end: '08:00', timeZone: 'UTC' } })).error,
      ).toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/preferences: quietHours\.start: must be a time 'HH:MM'/),
      });
    } finally {
      client.close();
    }
  });
});
