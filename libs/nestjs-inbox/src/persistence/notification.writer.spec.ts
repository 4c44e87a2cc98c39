import type { NewNotificationRow, NotificationRow } from './notification-row';
import type { NotificationRepository } from './repositories/notification.repository';
import { NotificationWriter } from './notification.writer';

/** Mirrors MAX_IN_FLIGHT in notification.writer.ts: statements in flight at once. */
const MAX_IN_FLIGHT = 2;
/** Mirrors MAX_BATCH_ROWS in notification.writer.ts: rows in one statement at most. */
const MAX_BATCH_ROWS = 5000;
/** Mirrors HOLD_BEHIND_ROWS in notification.writer.ts. */
const HOLD_BEHIND_ROWS = 16;

type Stored = (NotificationRow | null)[];

/** One `insert` the writer made, settled by the test. */
interface Insert {
  rows: NewNotificationRow[];
  /** Whether the test has answered it yet. */
  answered: boolean;
  /** Answers with the stored form of every row (see `stored`), or `answer` when given. */
  resolve(answer?: Stored): void;
  reject(err: unknown): void;
}

/** A NotificationRepository whose `insert` only answers when the test says so. */
function fakeStore() {
  const inserts: Insert[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const store = {
    insert(rows: NewNotificationRow[]): Promise<Stored> {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      return new Promise<Stored>((resolve, reject) => {
        const insert: Insert = {
          rows,
          answered: false,
          resolve: (answer) => done() && resolve(answer ?? rows.map(stored)),
          reject: (err) => done() && reject(err),
        };
        const done = () => !insert.answered && ((insert.answered = true), inFlight--, true);
        inserts.push(insert);
      });
    },
  };
  return {
    store: store as unknown as NotificationRepository,
    inserts,
    /** The oldest insert not answered yet. */
    oldestOpen: () => inserts.find((i) => !i.answered)!,
    get inFlight() {
      return inFlight;
    },
    get maxInFlight() {
      return maxInFlight;
    },
  };
}

/** A row to write, told apart by its `type`. */
function row(tag: string): NewNotificationRow {
  return {
    userId: 'u1',
    topic: null,
    scope: null,
    group: null,
    type: tag,
    title: null,
    body: null,
    data: null,
    dedupeKey: null,
    expiresAt: null,
    url: null,
    actions: [],
    actor: null,
    tags: [],
  };
}

/** The stored form of `r`, its id derived from its tag so results can be matched to inputs. */
function stored(r: NewNotificationRow): NotificationRow {
  return {
    id: `id-${r.type}`,
    user_id: r.userId,
    topic: r.topic,
    scope: r.scope,
    type: r.type,
    title: r.title,
    body: r.body,
    data: null,
    url: r.url,
    actions: null,
    actor: r.actor,
    tags: r.tags,
    created_at: new Date(0),
    read_at: null,
  };
}

const tags = (rows: { type: string }[]) => rows.map((r) => r.type);

/** Lets every pending promise callback (and the writer's follow-up pumping) run. */
const settle = async () => {
  // Two turns: a settled statement's slot is filled in the turn after (holdBehind).
  for (let turn = 0; turn < 2; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** A promise's outcome so far, without awaiting it. */
function track<T>(promise: Promise<T>) {
  const state: { status: 'pending' | 'fulfilled' | 'rejected'; value?: T; error?: unknown } = { status: 'pending' };
  promise.then(
    (value) => Object.assign(state, { status: 'fulfilled', value }),
    (error) => Object.assign(state, { status: 'rejected', error }),
  );
  return state;
}

describe('NotificationWriter', () => {
  it('writes a lone call at once, in its own statement, and answers only once it has been stored', async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);

    const call = track(writer.write([row('a1'), row('a2')]));

    // Started synchronously: no waiting for company.
    expect(fake.inserts).toHaveLength(1);
    expect(tags(fake.inserts[0].rows)).toEqual(['a1', 'a2']);
    await settle();
    expect(call.status).toBe('pending');

    fake.inserts[0].resolve();
    await settle();
    expect(call).toEqual({ status: 'fulfilled', value: [stored(row('a1')), stored(row('a2'))] });
    expect(fake.inserts).toHaveLength(1);
  });

  it('coalesces the calls of one tick that find every slot busy into one statement, in call order', async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);

    const calls = ['a', 'b', 'c', 'd', 'e', 'f'].map((t) => track(writer.write([row(`${t}1`), row(`${t}2`)])));

    // The first MAX_IN_FLIGHT calls each go at once; the rest wait for a free slot.
    expect(fake.inserts.map((i) => tags(i.rows))).toEqual([
      ['a1', 'a2'],
      ['b1', 'b2'],
    ]);

    fake.inserts[1].resolve();
    await settle();
    // The whole backlog goes in the next statement, one multi-row INSERT.
    expect(fake.inserts).toHaveLength(3);
    expect(tags(fake.inserts[2].rows)).toEqual(['c1', 'c2', 'd1', 'd2', 'e1', 'e2', 'f1', 'f2']);

    fake.inserts[0].resolve();
    fake.inserts[2].resolve();
    await settle();
    expect(fake.inserts).toHaveLength(3);
    for (const [i, t] of ['a', 'b', 'c', 'd', 'e', 'f'].entries()) {
      expect(calls[i]).toEqual({ status: 'fulfilled', value: [stored(row(`${t}1`)), stored(row(`${t}2`))] });
    }
  });

  it(`never has more than ${MAX_IN_FLIGHT} statements in flight, and fills a slot as soon as it frees`, async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    const calls: ReturnType<typeof track<Stored>>[] = [];

    // Calls keep arriving while statements complete out of order.
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3; i++) calls.push(track(writer.write([row(`r${round}-${i}`)])));
      expect(fake.inFlight).toBe(MAX_IN_FLIGHT);
      // Complete the newest open statement on even rounds, the oldest on odd ones.
      const open = fake.inserts.filter((i) => !i.answered);
      (round % 2 ? open[0] : open[open.length - 1]).resolve();
      await settle();
      expect(fake.inFlight).toBe(MAX_IN_FLIGHT);
    }

    // Drain: everything is eventually written, each row once.
    while (fake.inFlight > 0) {
      fake.inserts.forEach((i) => i.resolve());
      await settle();
    }
    expect(fake.maxInFlight).toBe(MAX_IN_FLIGHT);
    const written = fake.inserts.flatMap((i) => tags(i.rows));
    expect(written.sort()).toEqual(calls.map((_, n) => `r${Math.floor(n / 3)}-${n % 3}`).sort());
    expect(calls.every((c) => c.status === 'fulfilled')).toBe(true);
    // Coalescing did happen: fewer statements than calls.
    expect(fake.inserts.length).toBeLessThan(calls.length);
  });

  it(`under load (a statement of ${HOLD_BEHIND_ROWS} rows or more in flight) holds later calls for one statement, then splits a backlog over both slots`, async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    const many = (tag: string, n: number) => Array.from({ length: n }, (_, i) => row(`${tag}${i}`));

    const big = track(writer.write(many('big', HOLD_BEHIND_ROWS)));
    const calls = Array.from({ length: 4 * HOLD_BEHIND_ROWS }, (_, i) => track(writer.write([row(`c${i}`)])));
    await settle();
    // The free slot is not spent on one row at a time: every later call waits.
    expect(fake.inserts).toHaveLength(1);

    fake.inserts[0].resolve();
    await settle();
    // Nothing in flight and a backlog: half in each slot, in call order.
    expect(fake.inserts.slice(1).map((i) => tags(i.rows))).toEqual([
      calls.slice(0, 2 * HOLD_BEHIND_ROWS).map((_, i) => `c${i}`),
      calls.slice(2 * HOLD_BEHIND_ROWS).map((_, i) => `c${i + 2 * HOLD_BEHIND_ROWS}`),
    ]);

    // One of them settles while calls wait behind the other: they go together once it has, if
    // they are as many as HOLD_BEHIND_ROWS; a lone row waits for the other to settle too.
    const more = Array.from({ length: HOLD_BEHIND_ROWS }, (_, i) => track(writer.write([row(`m${i}`)])));
    await settle();
    expect(fake.inserts).toHaveLength(3);
    fake.inserts[1].resolve();
    await settle();
    expect(tags(fake.inserts[3].rows)).toEqual(more.map((_, i) => `m${i}`));
    const lone = track(writer.write([row('lone')]));
    fake.inserts[2].resolve();
    await settle();
    expect(fake.inserts).toHaveLength(4);
    fake.inserts[3].resolve();
    await settle();
    expect(tags(fake.inserts[4].rows)).toEqual(['lone']);

    fake.inserts.forEach((i) => i.resolve());
    await settle();
    expect([big, ...calls, ...more, lone].every((c) => c.status === 'fulfilled')).toBe(true);
  });

  it('gives each caller exactly its own rows, in order, with null where the store deduplicated a row', async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    // Fill both slots so the next calls share a statement.
    const blockers = [track(writer.write([row('x')])), track(writer.write([row('y')]))];

    const a = track(writer.write([row('a1'), row('a2')]));
    const empty = track(writer.write([]));
    const b = track(writer.write([row('b1')]));
    const c = track(writer.write([row('c1'), row('c2'), row('c3')]));
    fake.inserts[0].resolve();
    await settle();

    const batch = fake.inserts[2];
    expect(tags(batch.rows)).toEqual(['a1', 'a2', 'b1', 'c1', 'c2', 'c3']);
    // The store deduplicates a2, b1 and c3 (an older row had the same dedupe key).
    batch.resolve([stored(row('a1')), null, null, stored(row('c1')), stored(row('c2')), null]);
    await settle();

    expect(a).toEqual({ status: 'fulfilled', value: [stored(row('a1')), null] });
    expect(empty).toEqual({ status: 'fulfilled', value: [] });
    expect(b).toEqual({ status: 'fulfilled', value: [null] });
    expect(c).toEqual({ status: 'fulfilled', value: [stored(row('c1')), stored(row('c2')), null] });
    expect(blockers[0].status).toBe('fulfilled');
    expect(blockers[1].status).toBe('pending');
  });

  /** A Postgres error about the statement's data (SQLSTATE class 23: integrity constraint). */
  const dataError = (message: string) => Object.assign(new Error(message), { code: '23514' });

  it("retries a statement that failed on its data call by call, one at a time, so one caller's bad rows fail only that caller", async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    const blockers = [track(writer.write([row('x')])), track(writer.write([row('y')]))];

    const a = track(writer.write([row('a1'), row('a2')]));
    const bad = track(writer.write([row('bad1'), row('bad2')]));
    const c = track(writer.write([row('c1')]));
    fake.inserts[0].resolve();
    await settle();
    expect(tags(fake.inserts[2].rows)).toEqual(['a1', 'a2', 'bad1', 'bad2', 'c1']);

    fake.inserts[2].reject(dataError('the batch failed'));
    await settle();
    // No caller is answered with the batch's error: each call is retried on its own, in turn,
    // within the failed statement's slot.
    expect([a.status, bad.status, c.status]).toEqual(['pending', 'pending', 'pending']);
    expect(fake.inserts.slice(3).map((i) => tags(i.rows))).toEqual([['a1', 'a2']]);
    expect(fake.maxInFlight).toBe(MAX_IN_FLIGHT);

    const badRow = dataError('invalid input for bad2');
    fake.inserts[3].resolve();
    await settle();
    fake.inserts[4].reject(badRow);
    await settle();
    fake.inserts[5].resolve([null]);
    await settle();

    expect(fake.inserts.slice(3).map((i) => tags(i.rows))).toEqual([['a1', 'a2'], ['bad1', 'bad2'], ['c1']]);
    expect(a).toEqual({ status: 'fulfilled', value: [stored(row('a1')), stored(row('a2'))] });
    expect(bad).toEqual({ status: 'rejected', error: badRow });
    expect(c).toEqual({ status: 'fulfilled', value: [null] });
    // The statement in the other slot is untouched.
    expect(blockers[1].status).toBe('pending');
  });

  it('rejects every call of a statement that failed for another reason (the connection), without retrying: it may have committed', async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    track(writer.write([row('x')]));
    track(writer.write([row('y')]));
    const a = track(writer.write([row('a')]));
    const b = track(writer.write([row('b')]));
    fake.inserts[0].resolve();
    await settle();
    const lost = new Error('Connection terminated unexpectedly');
    fake.inserts[2].reject(lost);
    await settle();
    expect([a, b]).toEqual([
      { status: 'rejected', error: lost },
      { status: 'rejected', error: lost },
    ]);
    expect(fake.inserts).toHaveLength(3);
  });

  it('keeps a slot busy until all retries of a failed statement are answered, and is usable afterwards', async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    track(writer.write([row('x')]));
    track(writer.write([row('y')]));
    const a = track(writer.write([row('a')]));
    const b = track(writer.write([row('b')]));
    fake.inserts[0].resolve();
    await settle();
    fake.inserts[2].reject(dataError('the batch failed'));
    await settle();

    // Calls made meanwhile wait: the failed statement's slot is not free until its retries end.
    const later = track(writer.write([row('later')]));
    const refused = dataError('invalid input');
    fake.inserts[3].reject(refused);
    await settle();
    expect(a).toEqual({ status: 'rejected', error: refused });
    expect(tags(fake.inserts[4].rows)).toEqual(['b']);
    expect(fake.inserts).toHaveLength(5);

    fake.inserts[4].reject(refused);
    await settle();
    expect(b).toEqual({ status: 'rejected', error: refused });
    expect(fake.inserts).toHaveLength(6);
    expect(tags(fake.inserts[5].rows)).toEqual(['later']);
    fake.inserts[5].resolve();
    await settle();
    expect(later).toEqual({ status: 'fulfilled', value: [stored(row('later'))] });
  });

  it("rejects a lone call with its statement's error without retrying it, and frees its slot", async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);

    const a = track(writer.write([row('a')]));
    const err = new Error('violates check constraint');
    fake.inserts[0].reject(err);
    await settle();
    expect(a).toEqual({ status: 'rejected', error: err });
    expect(fake.inserts).toHaveLength(1);

    // Both slots are free again: two new calls each start at once.
    track(writer.write([row('b')]));
    track(writer.write([row('c')]));
    expect(fake.inserts.slice(1).map((i) => tags(i.rows))).toEqual([['b'], ['c']]);
  });

  it(`puts at most ${MAX_BATCH_ROWS} rows in one statement, yet never splits a caller's rows`, async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    const many = (tag: string, n: number) => Array.from({ length: n }, (_, i) => row(`${tag}${i}`));
    track(writer.write([row('x')]));
    track(writer.write([row('y')]));

    const half = MAX_BATCH_ROWS / 2;
    const calls = [
      track(writer.write(many('a', half))),
      track(writer.write(many('b', half))), // a + b fill one statement exactly
      track(writer.write(many('c', 1))), // one more would overflow it
      track(writer.write(many('d', MAX_BATCH_ROWS + 10))), // alone, whole, though over the cap
      track(writer.write(many('e', 1))),
    ];

    // Free one slot at a time and look at the statement that takes it.
    const next = async () => {
      fake.oldestOpen().resolve();
      await settle();
      return fake.inserts[fake.inserts.length - 1].rows;
    };
    const first = await next();
    expect(first).toHaveLength(MAX_BATCH_ROWS);
    expect(new Set(first.map((r) => r.type[0]))).toEqual(new Set(['a', 'b']));
    const second = await next();
    expect(tags(second)).toEqual(['c0']);
    const third = await next();
    expect(third).toHaveLength(MAX_BATCH_ROWS + 10);
    expect(new Set(third.map((r) => r.type[0]))).toEqual(new Set(['d']));
    // One row behind a statement of HOLD_BEHIND_ROWS or more waits for it.
    expect(await next()).toBe(third);
    const fourth = await next();
    expect(tags(fourth)).toEqual(['e0']);

    fake.inserts.forEach((i) => i.resolve());
    await settle();
    expect(fake.inFlight).toBe(0);
    expect(calls.map((c) => c.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'fulfilled']);
    expect((calls[3].value as Stored).map((r) => r!.type)).toEqual(many('d', MAX_BATCH_ROWS + 10).map((r) => r.type));
  });

  it("runs each call's handler once its statement settles, in the calls' order, and answers with what it returns or throws", async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    const seen: string[] = [];
    const handler = {
      committed: (rows: Stored, input: NewNotificationRow[], context: string) => {
        seen.push(`${context}:${tags(rows.map((r) => r!)).join(',')}`);
        expect(rows).toEqual(input.map(stored));
        if (context === 'b') throw new Error('b failed after commit');
        return `${context} done`;
      },
    };
    track(writer.write([row('x')]));
    track(writer.write([row('y')]));
    const a = track(writer.write([row('a1'), row('a2')], 'a', handler));
    const b = track(writer.write([row('b1')], 'b', handler));
    const c = track(writer.write([row('c1')], 'c', handler));
    fake.inserts[0].resolve();
    await settle();
    expect(seen).toEqual([]);
    // One statement for the three: every handler runs in its settlement, in order.
    expect(tags(fake.inserts[2].rows)).toEqual(['a1', 'a2', 'b1', 'c1']);
    fake.inserts[2].resolve();
    await settle();
    expect(seen).toEqual(['a:a1,a2', 'b:b1', 'c:c1']);
    expect(a).toEqual({ status: 'fulfilled', value: 'a done' });
    expect(b).toEqual({ status: 'rejected', error: new Error('b failed after commit') });
    expect(c).toEqual({ status: 'fulfilled', value: 'c done' });
  });

  it("rejects with what the handler's `failed` throws for a failed statement", async () => {
    const fake = fakeStore();
    const writer = new NotificationWriter(fake.store);
    const mapped = new Error('mapped');
    const a = track(
      writer.write([row('a')], null, {
        committed: () => 'never',
        failed: () => {
          throw mapped;
        },
      }),
    );
    fake.inserts[0].reject(new Error('violates check constraint'));
    await settle();
    expect(a).toEqual({ status: 'rejected', error: mapped });
  });
});
