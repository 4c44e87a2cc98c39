import { NotificationsConfigError, resolveOptions } from './notifications.options';

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
