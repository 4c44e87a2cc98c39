import { NotificationsConfigError } from '../notifications.errors';
import { resolveOptions } from '../notifications.options.schema';
import { cookieSession } from './cookie-session.source';
import { expressSession } from './express-session.source';
import { httpSession } from './http-session.source';

const store = { get: (_sid: string, cb: (err: unknown, s?: unknown) => void) => cb(null, null) };

describe('session source factories reject options that cannot work', () => {
  it.each([
    ['no store', () => expressSession({ secret: 's' } as any), /needs `store`/],
    ['no secret', () => expressSession({ store }), /needs `secret`/],
    ['an empty secret', () => expressSession({ store, secrets: ['ok', ''] }), /needs `secret`/],
    ['secret and secrets', () => expressSession({ store, secret: 'a', secrets: ['b'] }), /not both/],
    ['a bad userId path', () => expressSession({ store, secret: 's', userId: 'a..b' }), /dot path/],
    ['no keys', () => cookieSession({ keys: [] }), /needs `keys`/],
    ['no options', () => cookieSession(undefined as any), /needs `keys`/],
    ['no url', () => httpSession({} as any), /needs `url`/],
    ['a non-http url', () => httpSession({ url: 'file:///etc/passwd' }), /http or https/],
    ['a zero timeout', () => httpSession({ url: 'http://a.test/me', timeoutMs: 0 }), /timeoutMs/],
    ['a negative cache TTL', () => httpSession({ url: 'http://a.test/me', cacheTtlMs: -1 }), /cacheTtlMs/],
  ])('%s', (_case, make, message) => {
    expect(make).toThrow(NotificationsConfigError);
    expect(make).toThrow(message);
  });
});

describe('security options', () => {
  const base = { session: () => null, allowedOrigins: ['https://app.test'] };

  it('has safe defaults', () => {
    const o = resolveOptions(base, { gateway: true });
    expect(o).toMatchObject({
      maxMessageBytes: 16 * 1024,
      eventRateLimit: { burst: 20, perSecond: 10 },
      maxConnectionsPerUser: 20,
      sessionRecheckMs: 60_000,
      sessionTimeoutMs: 5000,
    });
  });

  it.each([
    [{ maxMessageBytes: 0 }, /maxMessageBytes/],
    [{ eventRateLimit: { perSecond: 0 } }, /eventRateLimit.perSecond/],
    [{ eventRateLimit: { burst: 1.5 } }, /eventRateLimit.burst/],
    [{ maxConnectionsPerUser: -1 }, /maxConnectionsPerUser/],
    [{ sessionRecheckMs: -5 }, /sessionRecheckMs/],
    [{ sessionTimeoutMs: 0 }, /sessionTimeoutMs/],
  ])('rejects %j', (bad, message) => {
    expect(() => resolveOptions({ ...base, ...bad }, { gateway: true })).toThrow(message);
  });

  it('accepts sessionRecheckMs 0 to turn the re-check off', () => {
    expect(resolveOptions({ ...base, sessionRecheckMs: 0 }, { gateway: true }).sessionRecheckMs).toBe(0);
  });
});
