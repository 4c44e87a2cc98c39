import { RecountBatcher } from './recount-batcher';

describe('RecountBatcher', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A run whose completion the test controls. */
  const controlled = () => {
    const runs: { users: string[]; done: () => void }[] = [];
    const run = (users: string[]) => new Promise<void>((done) => runs.push({ users, done }));
    return { runs, run };
  };

  it('recounts the users added within the delay in one run, each once', async () => {
    const { runs, run } = controlled();
    const batcher = new RecountBatcher(run, 100);
    batcher.add(['a', 'b']);
    await vi.advanceTimersByTimeAsync(50);
    batcher.add(['b', 'c']);
    expect(runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(50);
    expect(runs.map((r) => r.users)).toEqual([['a', 'b', 'c']]);
  });

  it('runs one batch at a time: users added during a run wait for the next one', async () => {
    const { runs, run } = controlled();
    const batcher = new RecountBatcher(run, 100);
    batcher.add(['a']);
    await vi.advanceTimersByTimeAsync(100);
    batcher.add(['b']);
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toHaveLength(1);
    runs[0].done();
    await vi.advanceTimersByTimeAsync(100);
    expect(runs.map((r) => r.users)).toEqual([['a'], ['b']]);
  });

  it('recounts a user at most once per interval: a stream of changes gets one count per interval, the last one included', async () => {
    const { runs, run } = controlled();
    const batcher = new RecountBatcher(run, 100, 1000);
    batcher.add(['a']);
    await vi.advanceTimersByTimeAsync(100); // t=100: a counted
    runs[0].done();
    batcher.add(['a', 'b']); // a changed again at once; b is new
    await vi.advanceTimersByTimeAsync(100); // t=200: b goes after the delay, a waits for its interval
    expect(runs.map((r) => r.users)).toEqual([['a'], ['b']]);
    runs[1].done();
    await vi.advanceTimersByTimeAsync(300);
    batcher.add(['a']); // t=500: still within a's interval
    await vi.advanceTimersByTimeAsync(500);
    expect(runs).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(100); // t=1100: a's interval is over
    expect(runs.map((r) => r.users)).toEqual([['a'], ['b'], ['a']]);
  });

  it('recounts a user whose last count is older than the interval after the delay only', async () => {
    const { runs, run } = controlled();
    const batcher = new RecountBatcher(run, 100, 1000);
    batcher.add(['a']);
    await vi.advanceTimersByTimeAsync(100);
    runs[0].done();
    await vi.advanceTimersByTimeAsync(5000);
    batcher.add(['a']);
    await vi.advanceTimersByTimeAsync(99);
    expect(runs).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs.map((r) => r.users)).toEqual([['a'], ['a']]);
  });

  it('a new user is not held back by one waiting for its interval', async () => {
    const { runs, run } = controlled();
    const batcher = new RecountBatcher(run, 100, 1000);
    batcher.add(['a']);
    await vi.advanceTimersByTimeAsync(100);
    runs[0].done();
    batcher.add(['a']); // due at t=1100
    await vi.advanceTimersByTimeAsync(200);
    batcher.add(['b']); // t=300: due at t=400, before a
    await vi.advanceTimersByTimeAsync(100);
    expect(runs.map((r) => r.users)).toEqual([['a'], ['b']]);
    runs[1].done();
    await vi.advanceTimersByTimeAsync(700);
    expect(runs.map((r) => r.users)).toEqual([['a'], ['b'], ['a']]);
  });

  it('schedules nothing for no users', async () => {
    const { runs, run } = controlled();
    new RecountBatcher(run, 100).add([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual([]);
  });

  it('recounts nothing once stopped: neither what waited nor what is added after', async () => {
    const { runs, run } = controlled();
    const batcher = new RecountBatcher(run, 100);
    batcher.add(['a']);
    batcher.stop();
    batcher.add(['b']);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(runs).toHaveLength(0);
  });
});
