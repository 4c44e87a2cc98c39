import { quietUntil } from './quiet-hours';

describe('quietUntil', () => {
  const berlin = { start: '22:00', end: '07:00', timeZone: 'Europe/Berlin' };

  it('is null outside the hours and their end inside, across midnight, in the user time zone', () => {
    // 12:00 UTC is 13:00 in Berlin (winter): outside.
    expect(quietUntil(new Date('2026-01-15T12:00:00Z'), berlin)).toBeNull();
    // 22:30 UTC is 23:30 in Berlin: quiet until 07:00 Berlin, 06:00 UTC.
    expect(quietUntil(new Date('2026-01-15T22:30:15Z'), berlin)).toEqual(new Date('2026-01-16T06:00:00Z'));
    // 05:59 UTC is 06:59 in Berlin: one minute left.
    expect(quietUntil(new Date('2026-01-16T05:59:30Z'), berlin)).toEqual(new Date('2026-01-16T06:00:00Z'));
    // 06:00 UTC is 07:00 in Berlin: over (the end is excluded).
    expect(quietUntil(new Date('2026-01-16T06:00:00Z'), berlin)).toBeNull();
  });

  it('hours within one day, and equal start and end (none)', () => {
    const lunch = { start: '12:00', end: '13:30', timeZone: 'UTC' };
    expect(quietUntil(new Date('2026-01-15T12:10:00Z'), lunch)).toEqual(new Date('2026-01-15T13:30:00Z'));
    expect(quietUntil(new Date('2026-01-15T13:30:00Z'), lunch)).toBeNull();
    expect(quietUntil(new Date('2026-01-15T12:10:00Z'), { ...lunch, end: '12:00' })).toBeNull();
  });

  it('ends by the wall clock across a change of the clocks', () => {
    // Berlin springs forward on 2026-03-29 at 02:00 (UTC+1 to UTC+2): 23:00 local the day before is 22:00 UTC.
    expect(quietUntil(new Date('2026-03-28T22:00:00Z'), berlin)).toEqual(new Date('2026-03-29T05:00:00Z'));
  });
});
