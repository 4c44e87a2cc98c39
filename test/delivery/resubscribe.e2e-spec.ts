import { Client } from 'pg';
import { TOPIC_COMMITTED_SINCE_SQL } from '../../libs/nestjs-inbox/src/persistence/sql/catch-up.sql';
import { startApp, migrate, type TestApp } from '../support/app';
import { TestClient } from '../support/client';
import { createDatabase } from '../support/database';
import { explain, nodesOf, pagesOf } from '../support/plan';

/** The topic's history before the user subscribes again: positions 1..N, all since the first subscription. */
const HISTORY = 5_000;
/** Publications committed since the second subscribe's stream end: what its follow-up read must return. */
const NEW = 3;

// `subscribe` reads, after the sockets joined the topic's room, what committed meanwhile
// (InboxSettings.subscribe), as a named prepared statement: generic from its sixth run. Called
// again for a subscription that exists, the subscription keeps its old start: the read must
// still walk only the positions after the stream's end this call read, not the topic's history.
describe("subscribe's follow-up read of a topic: the plan", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(`SET session_replication_role = replica`);
    await c.query(
      `INSERT INTO inbox_notification (topic, type, title, tx_id, tx_horizon, seq, type_seq)
       SELECT 'news', 'post', 'old', 1000 + g, 1000 + g, g, g FROM generate_series(1, ${HISTORY + NEW}) g`,
    );
    await c.query(`INSERT INTO inbox_stream (stream, scope, seq) VALUES ('news', '', ${HISTORY + NEW})`);
    await c.query(`RESET session_replication_role`);
    await c.query(`INSERT INTO inbox_subscription (user_id, topic, scope, from_seq, read_seq) VALUES ('u1', 'news', '', 0, 0)`);
    await c.query('VACUUM ANALYZE inbox_notification');
    await c.query(`PREPARE since(varchar, varchar, varchar, bigint, bigint) AS ${TOPIC_COMMITTED_SINCE_SQL}`);
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  for (const mode of ['force_generic_plan', 'force_custom_plan']) {
    it(`walks the positions after the stream end the call read, not the history (${mode}; the scale rule)`, async () => {
      await c.query(`SET plan_cache_mode = ${mode}`);
      // A horizon before every row: a transaction elsewhere held it back (the read then filters on tx_id only).
      const execute = `EXECUTE since('u1', '', 'news', 1, ${HISTORY})`;
      expect((await c.query<{ id: string }>(execute)).rows).toHaveLength(NEW);
      const plan = await explain(c, `${execute}`);
      const walks = nodesOf(plan).filter((n) => n['Index Name'] === 'inbox_notification_shared_seq_idx');
      expect(walks).toHaveLength(1);
      // From the subscription's start: every position of the history and its row.
      expect(pagesOf(walks[0])).toBeLessThan(10);
    });
  }
});

describe('subscribe again: what the sockets receive', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let t: TestApp;
  let tab: TestClient | undefined;
  let held: Client | undefined;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    t = await startApp(db.url);
  });
  afterAll(async () => {
    tab?.close();
    await held?.end();
    await t?.close();
    await db?.drop();
  });

  it('sends nothing the sockets already got live, and still sends what is new', async () => {
    tab = await TestClient.connect(t.url, 'again-1');
    await t.service.subscribe('again-1', 'changelog');
    // A transaction left open elsewhere holds the horizon back: every publication below is
    // "committed since the horizon" of the next subscribe.
    held = new Client({ connectionString: db.url });
    await held.connect();
    await held.query('BEGIN');
    await held.query('SELECT pg_current_xact_id()');
    for (const title of ['v1', 'v2']) {
      await t.service.publish('changelog', { type: 'publish', title });
      await tab.waitForTitle(title);
    }
    await t.service.subscribe('again-1', 'changelog');
    await t.service.publish('changelog', { type: 'publish', title: 'v3' });
    await t.service.notify('again-1', { type: 't', title: 'barrier' });
    await tab.waitForTitle('barrier');
    await tab.waitForTitle('v3');
    // Before, the second subscribe read the topic since the first one and sent v1 and v2 again.
    expect(tab.notifications.map((n) => n.title).filter((title) => title?.startsWith('v'))).toEqual(['v1', 'v2', 'v3']);
    await held.query('ROLLBACK');
  });
});
