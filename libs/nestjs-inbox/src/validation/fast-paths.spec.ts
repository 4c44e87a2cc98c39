import { isSimpleUserId, simpleNotificationInput } from './fast-paths';
import { notificationInput, userId } from './schemas';

/**
 * The fast paths must accept exactly what the zod schemas accept, with the same result: where
 * they accept something zod refuses, bad input would be stored; where they refuse, zod decides.
 */
class WithType {
  type = 'comment';
}

const inputs: unknown[] = [
  { type: 'comment' },
  { type: 'comment', title: 'T', body: 'B', data: { a: 1 } },
  { type: 'comment', title: null, body: null, data: null },
  { type: 'comment', title: undefined },
  { type: ' comment ' },
  { type: '' },
  { type: '   ' },
  { type: 'x'.repeat(100) },
  { type: 'x'.repeat(101) },
  { type: 'a\0b' },
  { type: 'a\ud800' },
  { type: 7 },
  {},
  { type: 'comment', title: 'x'.repeat(1000) },
  { type: 'comment', title: 'x'.repeat(1001) },
  { type: 'comment', title: 'a\ud800' },
  { type: 'comment', title: 3 },
  { type: 'comment', body: 'a\0' },
  { type: 'comment', body: 'x'.repeat(100_000) },
  { type: 'comment', body: {} },
  { type: 'comment', data: [1] },
  { type: 'comment', data: 'text' },
  { type: 'comment', data: new Date(0) },
  { type: 'comment', url: '/a' },
  { type: 'comment', other: 1 },
  new WithType(),
  Object.create(null),
  [],
  null,
  'comment',
];

describe('fast paths agree with the schemas', () => {
  it.each(inputs.map((input, i) => [i, input]))('notification input #%i', (_i, input) => {
    const fast = simpleNotificationInput(input);
    const zod = notificationInput.safeParse(input);
    if (fast !== undefined) {
      expect(zod.success).toBe(true);
      const strip = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
      expect(strip(fast)).toEqual(strip(zod.data!));
      if (zod.data!.data) expect(fast.data).toBe(zod.data!.data);
    }
  });

  it('takes the common shapes', () => {
    expect(simpleNotificationInput({ type: 'comment', title: 'T', body: 'B', data: { a: 1 } })).toBeDefined();
    expect(isSimpleUserId('alice')).toBe(true);
  });

  it.each(['alice', ' alice', 'alice ', '', 'x'.repeat(255), 'x'.repeat(256), 'a\0', 'a\udc00', 'é', 5, null, ['a']])(
    'user id %j',
    (id) => {
      const zod = userId.safeParse(id);
      if (isSimpleUserId(id)) expect(zod.success).toBe(true);
      else if (typeof id === 'string') expect(zod.success).toBe(false);
    },
  );
});
