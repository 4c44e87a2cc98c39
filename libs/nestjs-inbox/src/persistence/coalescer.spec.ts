import { Coalescer, type Pending } from './coalescer';

/** A Coalescer whose batches stay in flight until the test settles them (`finish`). */
function held(limits: ConstructorParameters<typeof Coalescer<number, number>>[1]) {
  const batches: Pending<number, number>[][] = [];
  const done: (() => void)[] = [];
  const coalescer = new Coalescer<number, number>(
    (batch) =>
      new Promise<void>((resolve) => {
        batches.push(batch);
        done.push(resolve);
      }),
    limits,
  );
  const sent = () => batches.map((b) => b.map((call) => call.input));
  const finish = async (i: number) => {
    for (const call of batches[i]) call.resolve(call.input);
    done[i]();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { coalescer, sent, finish };
}

describe('Coalescer', () => {
  it('sends a lone call at once and coalesces the calls made while the slots are taken', async () => {
    const { coalescer, sent, finish } = held({ inFlight: 2, batch: 10 });
    const answers = [1, 2, 3, 4].map((n) => coalescer.add(n));
    expect(sent()).toEqual([[1], [2]]);
    await finish(0);
    expect(sent()).toEqual([[1], [2], [3, 4]]);
    await finish(1);
    await finish(2);
    await expect(Promise.all(answers)).resolves.toEqual([1, 2, 3, 4]);
  });

  it('with partialInFlight, takes a further slot only for a full batch', async () => {
    const { coalescer, sent, finish } = held({ inFlight: 2, batch: 3, partialInFlight: 1 });
    for (const n of [1, 2, 3]) void coalescer.add(n);
    expect(sent()).toEqual([[1]]);
    void coalescer.add(4);
    expect(sent()).toEqual([[1], [2, 3, 4]]);
    void coalescer.add(5);
    await finish(0);
    // The full batch still holds a slot: a partial one waits until none is in flight.
    expect(sent()).toEqual([[1], [2, 3, 4]]);
    await finish(1);
    expect(sent()).toEqual([[1], [2, 3, 4], [5]]);
  });
});
