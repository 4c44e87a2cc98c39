import { NotificationsConfigError } from './notifications.errors';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOTIFICATIONS_DEFAULTS, type NotificationsModuleOptions } from './notifications.options';
import { resolveOptions } from './notifications.options.schema';

describe('resolveOptions', () => {
  const base: NotificationsModuleOptions = { session: () => null, allowedOrigins: ['https://app.example.com'] };

  it('applies the documented defaults', () => {
    const o = resolveOptions(base, { gateway: true });
    expect(o).toMatchObject({
      namespace: '/notifications',
      maxPayloadBytes: 16384,
      maxRecipients: 10000,
      catchUpLimit: 1000,
      catchUpGraceMs: 5000,
      listLimit: { default: 20, max: 100 },
      maxBulkRows: 10000,
      minSnoozeMs: 60000,
      maxSnoozed: 1000,
    });
    expect(o.canSubscribe('u', 't', null)).toBe(false);
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
    ['a negative grace', { catchUpGraceMs: -1 }, /catchUpGraceMs \(or 0 for none\) must be a positive integer/],
    ['redis without url or client', { redis: {} }, /redis needs a `url` or a `client`/],
    ['a zero bulk limit', { maxBulkRows: 0 }, /maxBulkRows must be a positive integer, got 0/],
    ['a fractional snooze limit', { maxSnoozed: 2.5 }, /maxSnoozed must be a positive integer, got 2.5/],
    ['a negative shortest snooze', { minSnoozeMs: -1 }, /minSnoozeMs must be an integer from 0 to 31622400000 .*got -1/],
    [
      'a shortest snooze beyond the longest',
      { minSnoozeMs: 400 * 24 * 3600 * 1000 },
      /minSnoozeMs must be an integer from 0 to 31622400000/,
    ],
  ])('refuses %s with a message that says what to fix', (_name, options, message) => {
    expect(() => resolveOptions({ ...base, ...options }, { gateway: true })).toThrow(NotificationsConfigError);
    expect(() => resolveOptions({ ...base, ...options }, { gateway: true })).toThrow(message);
  });
});

const producer = (redis: object) => resolveOptions({ redis } as never, { gateway: false });

describe('resolveOptions: redis', () => {
  it('defaults to the classic adapter and the nestjs-inbox channel prefix', () => {
    expect(producer({ url: 'redis://127.0.0.1:6379' }).redis).toEqual({
      url: 'redis://127.0.0.1:6379',
      adapter: 'classic',
      key: 'nestjs-inbox',
    });
    expect(resolveOptions({}, { gateway: false }).redis).toBeUndefined();
  });

  it.each([
    [{}, /needs a `url` or a `client`/],
    [{ url: 'redis://h', client: { duplicate() {} } }, /not both/],
    [{ url: 'http://h' }, /redis:\/\/ or rediss:\/\//],
    [{ client: {} }, /node-redis client/],
    [{ url: 'redis://h', adapter: 'cluster' }, /'classic' or 'sharded'/],
    [{ url: 'redis://h', key: '' }, /channel prefix/],
    [{ url: 'redis://h', key: 'a#b' }, /channel prefix/],
  ])('rejects %j', (redis, message) => {
    expect(() => producer(redis)).toThrow(NotificationsConfigError);
    expect(() => producer(redis)).toThrow(message);
  });
});

describe('NOTIFICATIONS_DEFAULTS, written once', () => {
  const source = ['notifications.options.ts', 'notifications.feature-options.ts']
    .map((f) => readFileSync(join(__dirname, f), 'utf8'))
    .join('\n');
  const guide = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'configuration.md'), 'utf8');
  const value = (text: string): unknown => new Function(`return (${text});`)();

  /** `field -> text of its @default tag`, from the JSDoc of the options interfaces. */
  const tags = new Map([...source.matchAll(/@default (.+)\n\s*\*\/\n\s*(\w+)\?:/g)].map((m) => [m[2], m[1].trim()] as const));
  /** `option -> text of its default cell`, from the Configuration guide's table (docs/configuration.md). */
  const table = new Map([...guide.matchAll(/^\| `(\w+)` \| (.+?) \|/gm)].map((m) => [m[1], m[2]] as const));
  // Options whose default is a group or a function: each has its own test below.
  const grouped = 'allowedOrigins canSubscribe canAccessScope mutable redis retention deliveryRecord http amqp channels'.split(' ');

  it.each(Object.keys(NOTIFICATIONS_DEFAULTS).filter((k) => !grouped.includes(k)))(
    '%s: the @default tag and docs/configuration.md say what resolveOptions applies',
    (field) => {
      const applied = (NOTIFICATIONS_DEFAULTS as Record<string, unknown>)[field];
      expect(value(tags.get(field)!)).toEqual(applied);
      expect(value(table.get(field)!.replace(/^`|`$/g, ''))).toEqual(applied);
    },
  );

  it('redis: the adapter and key defaults match their tags; the option itself is off by default', () => {
    expect(value(tags.get('adapter')!)).toBe(NOTIFICATIONS_DEFAULTS.redis.adapter);
    expect(value(tags.get('key')!)).toBe(NOTIFICATIONS_DEFAULTS.redis.key);
    expect(resolveOptions({ session: () => null, allowedOrigins: ['https://a.example'] }, { gateway: true }).redis).toBeUndefined();
    expect(table.get('redis')).toMatch(/^none/);
  });

  it('retention: the interval and batch defaults match their tags; the option itself is off by default', () => {
    expect(value(tags.get('intervalMs')!)).toBe(NOTIFICATIONS_DEFAULTS.retention.intervalMs);
    expect(value(tags.get('batchSize')!)).toBe(NOTIFICATIONS_DEFAULTS.retention.batchSize);
    expect(resolveOptions({}, { gateway: false }).retention).toBeUndefined();
    expect(resolveOptions({ retention: { days: 30 } }, { gateway: false }).retention).toEqual({
      days: 30,
      intervalMs: 60_000,
      batchSize: 1000,
    });
    expect(() => resolveOptions({ retention: { days: 0 } }, { gateway: false })).toThrow(/retention\.days must be a positive integer/);
    expect(() => resolveOptions({ retention: { batchSize: 1.5 } }, { gateway: false })).toThrow(/retention\.batchSize/);
    expect(() => resolveOptions({ retention: { channelDays: -1 } }, { gateway: false })).toThrow(
      /retention\.channelDays must be a positive integer/,
    );
    expect(table.get('retention')).toMatch(/^none/);
  });

  it('deliveryRecord: the flush interval matches its tag; the option itself is off by default', () => {
    expect(value(tags.get('flushMs')!)).toBe(NOTIFICATIONS_DEFAULTS.deliveryRecord.flushMs);
    expect(resolveOptions({}, { gateway: false }).deliveryRecord).toBeUndefined();
    expect(resolveOptions({ deliveryRecord: {} }, { gateway: false }).deliveryRecord).toEqual({ flushMs: 5000 });
    expect(() => resolveOptions({ deliveryRecord: { flushMs: 0 } }, { gateway: false })).toThrow(/deliveryRecord\.flushMs must be/);
    expect(table.get('deliveryRecord')).toMatch(/^none/);
  });

  it('http: the path and size defaults match their tags; off by default; the secret is checked at boot', () => {
    const secret = 'x'.repeat(32);
    expect(value(tags.get('path')!)).toBe(NOTIFICATIONS_DEFAULTS.http.path);
    expect(value(tags.get('maxBodyBytes')!)).toBe(NOTIFICATIONS_DEFAULTS.http.maxBodyBytes);
    expect(resolveOptions({}, { gateway: false }).http).toBeUndefined();
    expect(value(tags.get('bodyTimeoutMs')!)).toBe(NOTIFICATIONS_DEFAULTS.http.bodyTimeoutMs);
    expect(resolveOptions({ http: { secret } }, { gateway: false }).http).toEqual({
      secret,
      path: '/inbox/notifications',
      maxBodyBytes: 1048576,
      bodyTimeoutMs: 10000,
    });
    expect(() => resolveOptions({ http: { secret, bodyTimeoutMs: 0 } }, { gateway: false })).toThrow(
      /http\.bodyTimeoutMs must be a positive integer/,
    );
    expect(() => resolveOptions({ http: { secret: '' } }, { gateway: false })).toThrow(
      /http\.secret must be a string of at least 32 characters.*got 0 characters/,
    );
    expect(() => resolveOptions({ http: { secret: 'short' } }, { gateway: false })).toThrow(NotificationsConfigError);
    expect(() => resolveOptions({ http: {} as never }, { gateway: false })).toThrow(/http\.secret.*got undefined/);
    expect(() => resolveOptions({ http: { secret, path: 'inbox' } }, { gateway: false })).toThrow(
      /http\.path must be a path starting with '\/'/,
    );
    expect(() => resolveOptions({ http: { secret, maxBodyBytes: 0 } }, { gateway: false })).toThrow(
      /http\.maxBodyBytes must be a positive integer/,
    );
    expect(table.get('http')).toMatch(/^none/);
  });

  it('channels: the engine and e-mail defaults match their tags; off by default; e-mail options checked at boot', () => {
    for (const field of ['pollMs', 'claimBatch', 'maxAttempts', 'retryBaseMs'] as const) {
      expect(value(tags.get(field)!)).toBe(NOTIFICATIONS_DEFAULTS.channels[field]);
    }
    expect(value(tags.get('after')!)).toBe(NOTIFICATIONS_DEFAULTS.channels.email.after);
    expect(value(tags.get('until')!)).toBe(NOTIFICATIONS_DEFAULTS.channels.email.until);
    expect(resolveOptions({}, { gateway: false }).channels).toBeUndefined();
    expect(table.get('channels')).toMatch(/^none/);
    const email = { transport: 'smtp://127.0.0.1:25', from: 'a@b.example', address: () => null };
    expect(resolveOptions({ channels: { email } }, { gateway: false }).channels).toEqual({
      email: { ...email, after: 600_000, until: 'seen' },
      pollMs: 1000,
      claimBatch: 100,
      maxAttempts: 5,
      retryBaseMs: 30_000,
    });
    const refused = (e: object, message: RegExp) =>
      expect(() => resolveOptions({ channels: { email: { ...email, ...e } } }, { gateway: false })).toThrow(message);
    refused({ transport: 'http://user:secret@h' }, /channels\.email\.transport must be an smtp:\/\/ .*got a 'http' URL/);
    refused({ after: -1 }, /channels\.email\.after must be an integer from 0 to 2592000000/);
    refused({ until: 'clicked' }, /channels\.email\.until must be 'seen' or 'read'/);
    refused({ address: 'x' }, /channels\.email\.address must be a function/);
    expect(() => resolveOptions({ channels: { email, broadcastAudience: [] as never } }, { gateway: false })).toThrow(
      /channels\.broadcastAudience must be a function \(\{ scope, notification, channels \}\) => AsyncIterable/,
    );
  });

  it('amqp: prefetch and the dead-letter queue default as their tags say; off by default; url and queues checked', () => {
    const url = 'amqp://guest:guest@127.0.0.1:5672';
    expect(value(tags.get('prefetch')!)).toBe(NOTIFICATIONS_DEFAULTS.amqp.prefetch);
    expect(tags.get('deadLetterQueue')).toBe("'<queue>.dead'");
    expect(resolveOptions({}, { gateway: false }).amqp).toBeUndefined();
    expect(NOTIFICATIONS_DEFAULTS.amqp.maxBodyBytes).toBe(NOTIFICATIONS_DEFAULTS.http.maxBodyBytes); // one @default tag for both
    expect(resolveOptions({ amqp: { url, queue: 'inbox' } }, { gateway: false }).amqp).toEqual({
      url,
      queue: 'inbox',
      prefetch: 10,
      deadLetterQueue: 'inbox.dead',
      maxBodyBytes: 1048576,
    });
    expect(() => resolveOptions({ amqp: { url, queue: 'q', maxBodyBytes: -1 } }, { gateway: false })).toThrow(
      /amqp\.maxBodyBytes must be a positive integer/,
    );
    expect(() => resolveOptions({ amqp: { url: 'http://guest:secret@h', queue: 'q' } }, { gateway: false })).toThrow(
      /amqp\.url must be an amqp:\/\/ or amqps:\/\/ URL, got a 'http' URL/,
    );
    expect(() => resolveOptions({ amqp: { url, queue: '' } }, { gateway: false })).toThrow(/amqp\.queue must be a queue name/);
    expect(() => resolveOptions({ amqp: { url, queue: 'amq.x' } }, { gateway: false })).toThrow(/not starting with 'amq\.'/);
    expect(() => resolveOptions({ amqp: { url, queue: 'q', deadLetterQueue: 'q' } }, { gateway: false })).toThrow(
      /must differ from amqp\.queue/,
    );
    expect(() => resolveOptions({ amqp: { url, queue: 'q', prefetch: 0 } }, { gateway: false })).toThrow(
      /amqp\.prefetch must be a positive integer/,
    );
    expect(table.get('amqp')).toMatch(/^none/);
  });

  it('mutable allows every type by default, as its tag and docs/configuration.md say', () => {
    expect(NOTIFICATIONS_DEFAULTS.mutable('system')).toBe(true);
    expect(tags.get('mutable')).toMatch(/^every type/);
    expect(table.get('mutable')).toMatch(/^every type/);
  });

  it('canSubscribe refuses by default, as its tag and docs/configuration.md say', () => {
    expect(NOTIFICATIONS_DEFAULTS.canSubscribe('u', 'news')).toBe(false);
    expect(tags.get('canSubscribe')).toMatch(/^refuse/);
    expect(table.get('canSubscribe')).toMatch(/^refuse/);
  });

  it('canAccessScope refuses by default, as its tag and docs/configuration.md say', () => {
    expect(NOTIFICATIONS_DEFAULTS.canAccessScope('u', 'acme')).toBe(false);
    expect(tags.get('canAccessScope')).toMatch(/^refuse/);
    expect(table.get('canAccessScope')).toMatch(/^refuse/);
  });
});

describe('resolveOptions: one error for every mistake, saying what each option got', () => {
  const base: NotificationsModuleOptions = { session: () => null, allowedOrigins: ['https://app.example.com'] };
  const problems = (options: unknown, gateway = true): string => {
    try {
      resolveOptions(options as NotificationsModuleOptions, { gateway });
    } catch (e) {
      expect(e).toBeInstanceOf(NotificationsConfigError);
      return (e as Error).message;
    }
    throw new Error('resolveOptions accepted the options');
  };

  it('lists every problem, not only the first', () => {
    const message = problems({ ...base, maxPayloadBytes: 0, listLimit: { max: 1.5 }, session: undefined });
    expect(message).toMatch(/maxPayloadBytes must be a positive integer, got 0/);
    expect(message).toMatch(/listLimit\.max must be a positive integer, got 1\.5/);
    expect(message).toMatch(/the gateway needs `session`/);
  });

  it.each<[string, unknown, RegExp]>([
    ['a number given as a string', { maxPayloadBytes: '16384' }, /maxPayloadBytes must be a positive integer, got '16384'/],
    ['a namespace that is not a string', { namespace: 5 }, /namespace must start with '\/', got 5/],
    [
      'a canSubscribe that is not a function',
      { canSubscribe: true },
      /canSubscribe must be a function \(userId, topic\) => boolean \| Promise<boolean>, got true/,
    ],
    [
      'a canAccessScope that is not a function',
      { canAccessScope: 'acme' },
      /canAccessScope must be a function \(userId, scope\) => boolean \| Promise<boolean>, got 'acme'/,
    ],
    ['a mutable that is not a function', { mutable: ['system'] }, /mutable must be a function \(type\) => boolean, got an array/],
    ['a listLimit that is not an object', { listLimit: 50 }, /listLimit must be an object \{ default\?, max\? \}, got a number/],
  ])('refuses %s, naming the option and what it got', (_name, options, message) => {
    expect(problems({ ...base, ...(options as object) })).toMatch(message);
  });

  it('shows neither the URL nor the secret given in place of an option object', () => {
    const redis = problems({ redis: 'redis://:hunter2@cache.internal:6379' }, false);
    expect(redis).toMatch(/redis must be an object \{ url \} or \{ client \}, got a string/);
    const http = problems({ http: 'hunter2hunter2hunter2hunter2hunter2' }, false);
    expect(http).toMatch(/http must be an object \{ secret, path\?, maxBodyBytes\?, bodyTimeoutMs\? \}, got a string/);
    expect(redis + http).not.toMatch(/hunter2|cache\.internal/);
  });

  it('takes an option set to undefined as absent: its default applies', () => {
    const o = resolveOptions({ ...base, maxPayloadBytes: undefined, listLimit: { max: undefined } }, { gateway: true });
    expect(o.maxPayloadBytes).toBe(NOTIFICATIONS_DEFAULTS.maxPayloadBytes);
    expect(o.listLimit).toEqual(NOTIFICATIONS_DEFAULTS.listLimit);
  });

  it('still takes a refill rate of Infinity (zod numbers refuse it)', () => {
    expect(resolveOptions({ ...base, eventRateLimit: { perSecond: Infinity } }, { gateway: true }).eventRateLimit).toEqual({
      burst: 20,
      perSecond: Infinity,
    });
  });
});
