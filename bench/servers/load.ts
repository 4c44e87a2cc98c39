import { now, sleep } from '../lib/clock';

/** What every server under test sends: the same title, body and data size on both sides. */
export const TITLE = 'New comment on your post';
export const BODY = 'Alice replied: "Looks good to me, shipping it after lunch."';
export const data = (seq: number) => ({ t0: now(), seq, url: `/posts/42#comment-${seq}` });

/**
 * Open-loop load: `count` sends at `rate` per second, round robin over `users`, whatever the
 * time each send takes (so a slow server shows as latency, not as a slower send rate).
 */
export async function paced(
  users: string[],
  count: number,
  rate: number,
  send: (user: string, seq: number) => Promise<unknown> | void,
): Promise<number> {
  const start = now();
  const pending: Promise<unknown>[] = [];
  let seq = 0;
  while (seq < count) {
    const due = Math.min(count, Math.floor(((now() - start) / 1000) * rate) + 1);
    for (; seq < due; seq++) {
      const p = send(users[seq % users.length], seq);
      if (p) pending.push(p);
    }
    await sleep(1);
  }
  await Promise.all(pending);
  return seq;
}

/**
 * Closed-loop load: `concurrency` callers, each sending its next one as soon as the previous
 * has resolved, `count` in all. Returns the start time, the time the last send resolved and
 * the CPU time the process spent meanwhile (less sensitive than rates to a busy machine).
 */
export async function burst(
  users: string[],
  count: number,
  concurrency: number,
  send: (user: string, seq: number) => Promise<unknown>,
): Promise<{ start: number; end: number; cpuMs: number }> {
  const start = now();
  const cpu = process.cpuUsage();
  let seq = 0;
  const caller = async () => {
    while (seq < count) {
      const s = seq++;
      await send(users[s % users.length], s);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  const { user, system } = process.cpuUsage(cpu);
  return { start, end: now(), cpuMs: (user + system) / 1000 };
}

/** Heap and RSS after a full collection (the process runs with --expose-gc). */
export async function memory(): Promise<{ rss: number; heapUsed: number }> {
  for (let i = 0; i < 3; i++) {
    (global as any).gc?.();
    await sleep(50);
  }
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** Resident set size now, without a collection (cheap: sampled while connections open). */
export const rss = () => process.memoryUsage.rss();

/** CPU time this process has used so far, in ms (user + system). */
export const cpu = () => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Writes a heap snapshot (for the memory analysis of docs/performance.md); returns its path. */
export const snapshot = ({ path }: { path: string }) => {
  (global as any).gc?.();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when a snapshot is asked for
  return require('node:v8').writeHeapSnapshot(path);
};
