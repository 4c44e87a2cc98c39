import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { migrate, startApp, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { startCluster, type Cluster } from '../support/cluster';
import { createDatabase } from '../support/database';
import { until } from '../support/processes';

/**
 * The `deliveryRecord` option: live deliveries counted per notification on the instance holding
 * the sockets, added to `inbox_delivery` on an interval and at shutdown, and read back as
 * `inbox_engagement`'s `delivered_live`. Real sockets, real Postgres.
 */
describe('deliveryRecord: live deliveries stored per notification', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let pg: Client;
  const clients: TestClient[] = [];
  const apps: TestApp[] = [];

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    // Its own connection: the tables are read after the apps (and their pools) are closed.
    pg = new Client({ connectionString: db.url });
    await pg.connect();
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    await pg?.end();
    await db?.drop();
  });

  const start = async (options: Parameters<typeof startApp>[1]) => {
    const app = await startApp(db.url, options);
    apps.push(app);
    return app;
  };
  const connect = async (t: TestApp, userId: string) => {
    const client = await TestClient.connect(t.url, userId);
    clients.push(client);
    return client;
  };
  /** notification id → recorded live deliveries, for these ids. */
  const recorded = async (ids: string[]) => {
    const { rows } = await pg.query(
      `SELECT notification_id::text AS id, live::int FROM inbox_delivery WHERE notification_id = ANY($1::bigint[])`,
      [ids],
    );
    return Object.fromEntries(rows.map((r: { id: string; live: number }) => [r.id, r.live]));
  };
  const dbNow = async () => new Date((await pg.query(`SELECT clock_timestamp() AS now`)).rows[0].now);

  it('counts a notification written live to a connected socket, not one to an offline user; a broadcast once per connected user', async () => {
    const since = await dbNow();
    const t = await start({ deliveryRecord: { flushMs: 50 } });
    const [ann, bob, cid] = await Promise.all(['rec-ann', 'rec-bob', 'rec-cid'].map((u) => connect(t, u)));
    // A second tab of ann's on the same instance: her inbox is written to once.
    const annTab = await connect(t, 'rec-ann');

    const [direct] = await t.service.notify('rec-ann', { type: 'rec-direct', title: 'to ann' });
    const [offline] = await t.service.notify('rec-off', { type: 'rec-direct', title: 'to nobody online' });
    const broadcast = (await t.service.broadcast({ type: 'rec-news', title: 'to all' }))!;
    await Promise.all([ann.waitForTitle('to ann'), annTab.waitForTitle('to ann')]);
    await Promise.all([ann, annTab, bob, cid].map((c) => c.waitForTitle('to all')));

    // Flushed on the interval, while the app runs.
    await until('the deliveries are flushed', async () => {
      const r = await recorded([direct.id, broadcast.id]);
      return r[direct.id] === 1 && r[broadcast.id] === 3;
    });
    const until_ = await dbNow();
    await Promise.all(apps.splice(0).map((a) => a.close()));
    // Closed: every count is flushed, and these are final.
    expect(await recorded([direct.id, offline.id, broadcast.id])).toEqual({ [direct.id]: 1, [broadcast.id]: 3 });

    const { rows } = await pg.query(
      `SELECT type, kind, stored::int, delivered_live::int FROM inbox_engagement($1, $2) WHERE type LIKE 'rec-%' ORDER BY 1, 2`,
      [since, until_],
    );
    expect(rows).toEqual([
      { type: 'rec-direct', kind: 'direct', stored: 2, delivered_live: 1 },
      { type: 'rec-news', kind: 'broadcast', stored: 1, delivered_live: 3 },
    ]);
  });

  it('flushes what it counted when the module stops, before the interval', async () => {
    const t = await start({ deliveryRecord: { flushMs: 3_600_000 } });
    const dee = await connect(t, 'rec-dee');
    const [n] = await t.service.notify('rec-dee', { type: 'rec-stop', title: 'before stop' });
    await dee.waitForTitle('before stop');
    expect(await recorded([n.id])).toEqual({});
    await Promise.all(apps.splice(0).map((a) => a.close()));
    expect(await recorded([n.id])).toEqual({ [n.id]: 1 });
  });

  it('records nothing with the option off', async () => {
    const t = await start({});
    const eve = await connect(t, 'rec-eve');
    const [n] = await t.service.notify('rec-eve', { type: 'rec-off', title: 'unrecorded' });
    const b = (await t.service.broadcast({ type: 'rec-off', title: 'unrecorded broadcast' }))!;
    await eve.waitForTitle('unrecorded');
    await eve.waitForTitle('unrecorded broadcast');
    await Promise.all(apps.splice(0).map((a) => a.close()));
    expect(await recorded([n.id, b.id])).toEqual({});
  });

  it('a failing flush is logged and dropped; delivery goes on, and the next flush records', async () => {
    const warn = vi.spyOn(Logger.prototype, 'warn');
    const t = await start({ deliveryRecord: { flushMs: 20 } });
    const fay = await connect(t, 'rec-fay');
    await pg.query(`ALTER TABLE inbox_delivery RENAME TO inbox_delivery_away`);
    try {
      await t.service.notify('rec-fay', { type: 'rec-fail', title: 'while the table is away' });
      await fay.waitForTitle('while the table is away');
      await until('the failed flush is logged', () =>
        warn.mock.calls.some(([m]) =>
          /^deliveryRecord: the live deliveries of 1 notification\(s\) not recorded: .*inbox_delivery/.test(String(m)),
        ),
      );
      const [second] = await t.service.notify('rec-fay', { type: 'rec-fail', title: 'delivered all the same' });
      await fay.waitForTitle('delivered all the same');
      expect(second.id).toBeTruthy();
    } finally {
      await pg.query(`ALTER TABLE inbox_delivery_away RENAME TO inbox_delivery`);
      warn.mockRestore();
    }
    const [third] = await t.service.notify('rec-fay', { type: 'rec-fail', title: 'recorded again' });
    await fay.waitForTitle('recorded again');
    await until('the next flush records', async () => (await recorded([third.id]))[third.id] === 1);
  });
});

describe('deliveryRecord on two instances', () => {
  let cluster: Cluster;
  beforeAll(async () => {
    cluster = await startCluster({ deliveryRecord: { flushMs: 50 } });
  });
  afterAll(() => cluster?.close());

  it('a user with sockets on both instances counts on each; a worker that holds no socket counts nothing', async () => {
    const onA = await TestClient.connect(cluster.a.url, 'two-ann');
    const onB = await TestClient.connect(cluster.b.url, 'two-ann');
    const solo = await TestClient.connect(cluster.b.url, 'two-bob');
    try {
      const [both] = await cluster.worker.service.notify('two-ann', { type: 'two', title: 'on both' });
      const [one] = await cluster.worker.service.notify('two-bob', { type: 'two', title: 'on b' });
      await Promise.all([onA.waitForTitle('on both'), onB.waitForTitle('on both'), solo.waitForTitle('on b')]);
      const read = async () =>
        Object.fromEntries(
          (
            await cluster.a.dataSource.query(
              `SELECT notification_id::text AS id, live::int FROM inbox_delivery WHERE notification_id = ANY($1)`,
              [[both.id, one.id]],
            )
          ).map((r: { id: string; live: number }) => [r.id, r.live]),
        );
      await until('both instances flushed', async () => {
        const r = await read();
        return r[both.id] === 2 && r[one.id] === 1;
      });
    } finally {
      for (const c of [onA, onB, solo]) c.close();
    }
  });
});
