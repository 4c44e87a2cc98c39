import { NotificationsConfigError, NotificationsModuleOptions, resolveOptions } from './notifications.options';

describe('resolveOptions', () => {
  const base: NotificationsModuleOptions = { session: () => null, allowedOrigins: ['https://app.example.com'] };

  it('applies the documented defaults', () => {
    const o = resolveOptions(base, { gateway: true });
    expect(o).toMatchObject({
      namespace: '/notifications',
      maxPayloadBytes: 16384,
      maxRecipients: 10000,
      catchUpLimit: 1000,
      listLimit: { default: 20, max: 100 },
    });
    expect(o.canSubscribe('u', 't')).toBe(false);
  });

  it('needs neither session nor origins without a gateway', () => {
    expect(() => resolveOptions({}, { gateway: false })).not.toThrow();
  });

  it.each<[string, Partial<NotificationsModuleOptions>, RegExp]>([
    ['no session', { session: undefined }, /the gateway needs `session`.*gateway: false/],
    ['no allowedOrigins', { allowedOrigins: [] }, /the gateway needs `allowedOrigins`/],
    ['a wildcard origin', { allowedOrigins: ['*'] }, /exact origins like 'https:\/\/app.example.com'.*got '\*'/],
    ['an origin with a path', { allowedOrigins: ['https://a.example/x'] }, /no path/],
    ['a bad namespace', { namespace: 'inbox' }, /namespace must start with '\/', got 'inbox'/],
    ['a listLimit default over max', { listLimit: { default: 500, max: 100 } }, /listLimit.default must not exceed listLimit.max/],
    ['a non-integer payload limit', { maxPayloadBytes: 1.5 }, /maxPayloadBytes must be a positive integer, got 1.5/],
    ['a zero catch-up limit', { catchUpLimit: 0 }, /catchUpLimit must be a positive integer/],
    ['redis without url or client', { redis: {} }, /redis needs a `url` or a `client`/],
  ])('refuses %s with a message that says what to fix', (_name, options, message) => {
    expect(() => resolveOptions({ ...base, ...options }, { gateway: true })).toThrow(NotificationsConfigError);
    expect(() => resolveOptions({ ...base, ...options }, { gateway: true })).toThrow(message);
  });
});
