/**
 * Milliseconds on a clock every process of the machine shares: `timeOrigin` is fixed when the
 * process starts and `performance.now()` is monotonic after it, so a time stamped in the server
 * process and one taken in a client worker can be subtracted (to well under a millisecond).
 */
export const now = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
