import type { QuietHours } from '../protocol';

const DAY = 24 * 60;

const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** The wall-clock minute of the day at `at` in `timeZone` (0 to 1439). */
function localMinute(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/**
 * When the quiet hours around `now` end, or `null` if `now` is outside them. `start` to `end` in
 * the user's time zone, end excluded; a start after the end spans midnight (22:00 to 07:00); equal
 * ones are no quiet hours. Across a change of the clocks the end is found again by the wall clock.
 */
export function quietUntil(now: Date, quiet: QuietHours): Date | null {
  const start = minutesOf(quiet.start);
  const end = minutesOf(quiet.end);
  if (start === end) return null;
  const m = localMinute(now, quiet.timeZone);
  const inside = start < end ? m >= start && m < end : m >= start || m < end;
  if (!inside) return null;
  const minuteStart = now.getTime() - (now.getTime() % 60_000);
  let at = minuteStart + ((end - m + DAY) % DAY) * 60_000;
  // A clock change in between moves the wall clock by its offset: correct by what it shows then.
  const shift = (end - localMinute(new Date(at), quiet.timeZone) + DAY) % DAY;
  if (shift !== 0) at += (shift > DAY / 2 ? shift - DAY : shift) * 60_000;
  return new Date(at);
}
