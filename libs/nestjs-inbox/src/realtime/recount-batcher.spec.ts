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

  it('schedules nothing for no users', async () => {
    const { runs, run } = controlled();
    new RecountBatcher(run, 100).add([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toEqual([]);
  });
});
