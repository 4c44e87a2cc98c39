import { InvalidInputError, NotificationsConfigError } from '../notifications.errors';
import { loadAmqp } from './amqp-consumer';
import { decodeProducerJson, parseProducerMessage, withFallbackDedupeKey } from './producer-message';

describe('parseProducerMessage', () => {
  const n = { type: 'order', title: 'Shipped' };

  it('takes each audience, a single recipient as a list of one, and expiresAt as an ISO date-time', () => {
    expect(parseProducerMessage({ to: 'alice', notification: n })).toEqual({ to: ['alice'], notification: n });
    expect(parseProducerMessage({ to: ['a', 'b'], notification: n })).toEqual({ to: ['a', 'b'], notification: n });
    expect(parseProducerMessage({ broadcast: true, notification: n })).toEqual({ broadcast: true, notification: n });
    expect(parseProducerMessage({ topic: 'releases', notification: n })).toEqual({ topic: 'releases', notification: n });
    const later = new Date(Date.now() + 60_000);
    const parsed = parseProducerMessage({ to: 'a', notification: { ...n, expiresAt: later.toISOString() } });
    expect(parsed.notification.expiresAt).toEqual(later);
  });

  it('takes url, actions, actor and tags as the service does', () => {
    const shown = {
      url: 'https://shop.example/orders/7',
      actions: [
        { label: 'Track', url: '/orders/7/track' },
        { label: 'Received', event: 'order:received' },
      ],
      actor: { id: 'shop', name: 'The shop', avatarUrl: '/avatars/shop.png' },
      tags: ['orders'],
    };
    expect(parseProducerMessage({ topic: 'releases', notification: { ...n, ...shown } })).toEqual({
      topic: 'releases',
      notification: { ...n, ...shown },
    });
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', [1], /^message: must be a JSON object$/],
    ['no audience', { notification: n }, /exactly one of `to`, `broadcast: true` or `topic`$/],
    ['two audiences', { to: 'a', topic: 't', notification: n }, /exactly one of .*, got to and topic/],
    ['an empty recipient list', { to: [], notification: n }, /^message: to: must name at least one user/],
    ['a recipient that is not a string', { to: 5, notification: n }, /^message: to: must be a user id or an array of user ids/],
    ['broadcast false', { broadcast: false, notification: n }, /^message: broadcast: must be true/],
    ['no notification', { to: 'a' }, /^message: notification: /],
    ['an empty type', { to: 'a', notification: { type: '' } }, /^message: notification\.type: must be a non-empty string/],
    ['an unknown field', { to: 'a', notification: { ...n, colour: 'red' } }, /notification: .*colour/],
    ['an unknown top-level field', { to: 'a', notification: n, priority: 1 }, /^message: .*priority/],
    [
      'a date without offset',
      { to: 'a', notification: { ...n, expiresAt: '2030-01-01T00:00:00' } },
      /notification\.expiresAt: must be an ISO 8601 date-time with an offset/,
    ],
    [
      'a past expiry',
      { to: 'a', notification: { ...n, expiresAt: '2000-01-01T00:00:00Z' } },
      /notification\.expiresAt: must be in the future/,
    ],
    [
      'a javascript: url',
      { to: 'a', notification: { ...n, url: 'javascript:alert(1)' } },
      /^message: notification\.url: must be an http\(s\) URL/,
    ],
    ['a protocol-relative url', { to: 'a', notification: { ...n, url: '//evil.com' } }, /^message: notification\.url: /],
    [
      'an action without label',
      { to: 'a', notification: { ...n, actions: [{ url: '/x' }] } },
      /^message: notification\.actions\.0\.label: /,
    ],
    [
      'an action doing nothing',
      { to: 'a', notification: { ...n, actions: [{ label: 'Go' }] } },
      /notification\.actions\.0: needs a url, an event or both/,
    ],
    ['an unknown actor field', { to: 'a', notification: { ...n, actor: { email: 'x@y' } } }, /notification\.actor: .*email/],
    ['a repeated tag', { to: 'a', notification: { ...n, tags: ['x', 'x'] } }, /notification\.tags\.1: repeats "x"/],
  ])('refuses %s, naming the field', (_name, value, message) => {
    expect(() => parseProducerMessage(value)).toThrow(InvalidInputError);
    expect(() => parseProducerMessage(value)).toThrow(message);
  });
});

describe('decodeProducerJson', () => {
  it('reads UTF-8 JSON and names what is wrong otherwise', () => {
    expect(decodeProducerJson(Buffer.from('{"a":"é"}'))).toEqual({ a: 'é' });
    expect(() => decodeProducerJson(Buffer.from('{"a":'))).toThrow(/^body: not valid JSON/);
    expect(() => decodeProducerJson(Buffer.from([0x7b, 0xff, 0x7d]))).toThrow(/^body: not valid UTF-8$/);
  });
});

describe('withFallbackDedupeKey', () => {
  const message = { to: ['a'], notification: { type: 't' } };

  it("takes the transport's message id as the key only when the producer set none", () => {
    expect(withFallbackDedupeKey(message, 'amqp:', 'm-1').notification.dedupeKey).toBe('amqp:m-1');
    expect(
      withFallbackDedupeKey({ ...message, notification: { type: 't', dedupeKey: 'own' } }, 'amqp:', 'm-1').notification.dedupeKey,
    ).toBe('own');
    expect(withFallbackDedupeKey(message, 'amqp:', undefined)).toBe(message);
    expect(withFallbackDedupeKey(message, 'amqp:', 'x'.repeat(300)).notification.dedupeKey).toMatch(/^amqp:sha256:[0-9a-f]{64}$/);
  });

  it('hashes a message id holding a NUL, which Postgres cannot store: the message is stored, not refused for its id', () => {
    const [a, b] = ['m\u00001', 'm\u00002'].map((id) => withFallbackDedupeKey(message, 'amqp:', id).notification.dedupeKey);
    expect(a).toMatch(/^amqp:sha256:[0-9a-f]{64}$/);
    expect(a).not.toBe(b);
  });
});

describe('loadAmqp', () => {
  it('names the missing package in a NotificationsConfigError', async () => {
    const missing = (name: string) => () =>
      Promise.reject(Object.assign(new Error(`Cannot find module '${name}'`), { code: 'MODULE_NOT_FOUND' }));
    await expect(loadAmqp(missing('amqplib'))).rejects.toThrow(NotificationsConfigError);
    await expect(loadAmqp(missing('amqplib'))).rejects.toThrow(
      /needs the package 'amqplib', which is not installed: npm install amqplib amqp-connection-manager/,
    );
    await expect(loadAmqp(missing('amqp-connection-manager'))).rejects.toThrow(/'amqp-connection-manager'/);
  });

  it('loads the installed packages', async () => {
    expect(typeof (await loadAmqp()).connect).toBe('function');
  });
});
