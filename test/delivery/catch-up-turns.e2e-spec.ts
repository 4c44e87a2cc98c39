import { CATCH_UP_ROWS_PER_TURN, CatchUpService } from 'nestjs-inbox/service/catch-up.service';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';

/**
 * A batch of catch-ups (the handshakes of a reconnect wave, read by one statement) is handed to
 * its sockets a chunk at a time, one chunk per event-loop turn: each socket's catch-up is sent
 * in the turn it is handed over, so one turn never sends the whole wave (docs/performance.md,
 * "Event-loop stalls").
 */
describe('catch-up of a reconnect wave', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  const MISSED = 100;
  const SOCKETS = 42;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterAll(async () => {
    await t?.close();
    await db?.drop();
  });

  it(`hands a batch's catch-ups over in chunks of about ${CATCH_UP_ROWS_PER_TURN} rows, one per event-loop turn`, async () => {
    const [cursor] = await t.service.notify('wave-0', { type: 't', title: 'the cursor' });
    for (let i = 0; i < MISSED; i++) await t.service.broadcast({ type: 'b', title: `missed ${i}` });
    const catchUps = t.app.get(CatchUpService);

    // Counts the loop's turns: one setImmediate per turn, as the service yields with.
    let turn = 0;
    let counting = true;
    const count = () => {
      turn++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    // All asked at once: the first IN_FLIGHT go alone, the rest wait and are read by one statement.
    const handedOver: { turn: number; rows: number }[] = [];
    const reads = Array.from({ length: SOCKETS }, (_, i) =>
      catchUps.since({ userId: `wave-${i}`, scope: null }, cursor.id).then((c) => {
        handedOver.push({ turn, rows: c.missed.length });
        return c;
      }),
    );
    const results = await Promise.all(reads);
    counting = false;

    // Every socket gets everything it missed.
    for (const r of results) expect(r.missed.map((n) => n.title)).toEqual(Array.from({ length: MISSED }, (_, i) => `missed ${i}`));
    const rowsByTurn = new Map<number, number>();
    for (const h of handedOver) rowsByTurn.set(h.turn, (rowsByTurn.get(h.turn) ?? 0) + h.rows);
    // 40 × 100 rows in one statement: two turns at least, none handing over more than a chunk
    // (the chunk is closed by the socket that crosses the bound: at most one socket's rows more).
    expect(SOCKETS * MISSED).toBeGreaterThan(2 * CATCH_UP_ROWS_PER_TURN);
    expect(rowsByTurn.size).toBeGreaterThanOrEqual(2);
    expect(Math.max(...rowsByTurn.values())).toBeLessThanOrEqual(CATCH_UP_ROWS_PER_TURN + MISSED);
  }, 60_000);
});
