import { Client } from 'pg';
import { PLAN_SHARED_SQL } from '../../libs/nestjs-inbox/src/persistence/sql/channels.sql';
import { createDatabase } from '../support/database';
import { migrate } from '../support/migrate';
import { explain, nodesOf, pagesOf } from '../support/plan';

/** Users the inbox knows in other scopes than the broadcast's: unscoped, and in a big tenant. */
const OTHERS = 20_000;
/** The users of the broadcast's scope. */
const SMALL = ['a-small', 'm-small', 'z-small'];
const BATCH = 500;

// The channel sends of a broadcast go to the users the inbox knows in its scope, a batch at a
// time in user id order (ChannelSendRepository.planShared), as a named prepared statement: from
// its sixth run Postgres may keep a generic plan. A scope with few users must not cost a read of
// every scope's users, in either plan.
describe("the channel sends of a scoped broadcast: the audience's plan", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let c: Client;
  let broadcast: string;

  const plan = (scope: string, after = '') =>
    `EXECUTE plan_shared(${broadcast}, NULL, '${scope}', '{email}', '{read}', '{0}', '${after}', ${BATCH})`;
  const planned = async () =>
    (await c.query<{ user_id: string }>(`SELECT user_id FROM inbox_channel_send ORDER BY user_id`)).rows.map((r) => r.user_id);

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    c = new Client({ connectionString: db.url });
    await c.connect();
    await c.query(
      `INSERT INTO inbox_user_state (user_id, scope)
       SELECT 'u' || lpad(g::text, 6, '0'), CASE WHEN g % 2 = 0 THEN '' ELSE 'big' END FROM generate_series(1, ${OTHERS}) g ORDER BY random()`,
    );
    await c.query(`INSERT INTO inbox_user_state (user_id, scope) SELECT unnest($1::text[]), 'small'`, [SMALL]);
    // One of them known unscoped too: an unscoped broadcast plans it once.
    await c.query(`INSERT INTO inbox_user_state (user_id, scope) VALUES ('m-small', '')`);
    await c.query('ANALYZE inbox_user_state');
    broadcast = (
      await c.query<{ id: string }>(
        `INSERT INTO inbox_notification (type, scope, tx_id, tx_horizon) VALUES ('news', 'small', 1, 1) RETURNING id::text`,
      )
    ).rows[0].id;
    await c.query(`PREPARE plan_shared(bigint, text, text, text[], text[], bigint[], text, int) AS ${PLAN_SHARED_SQL}`);
  });

  afterAll(async () => {
    await c?.end();
    await db?.drop();
  });

  afterEach(() => c.query(`DELETE FROM inbox_channel_send`));

  for (const mode of ['force_generic_plan', 'force_custom_plan']) {
    it(`reads the scope's users, not every scope's (${mode}; the scale rule)`, async () => {
      await c.query(`SET plan_cache_mode = ${mode}`);
      const root = await explain(c, plan('small'));
      const reads = nodesOf(root).filter((n) => n['Relation Name'] === 'inbox_user_state');
      expect(reads.map((n) => n['Index Name'])).toContain('inbox_user_state_scope_idx');
      // Through the primary key (user_id, scope), filtered by scope: every user's entry (about 80 pages here).
      const pages = reads.reduce((sum, n) => sum + pagesOf(n), 0);
      expect(pages).toBeLessThan(10);
    });
  }

  it("plans the scope's users only, a batch at a time", async () => {
    await c.query(`SET plan_cache_mode = force_generic_plan`);
    const first = (await c.query<{ last: string; n: number }>(plan('small'))).rows[0];
    expect(first).toEqual({ last: 'z-small', n: 3 });
    expect(await planned()).toEqual(SMALL);
    expect((await c.query(plan('small', 'z-small'))).rows[0]).toEqual({ last: null, n: 0 });
  });

  it('plans an unscoped broadcast to every user the inbox knows, once each', async () => {
    await c.query(`SET plan_cache_mode = force_generic_plan`);
    let after = '';
    let batches = 0;
    for (;;) {
      const { last } = (await c.query<{ last: string | null }>(plan('', after))).rows[0];
      if (last === null) break;
      after = last;
      batches++;
    }
    expect(batches).toBe(Math.ceil((OTHERS + SMALL.length) / BATCH));
    const { rows } = await c.query<{ n: number; users: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT user_id)::int AS users FROM inbox_channel_send`,
    );
    expect(rows[0]).toEqual({ n: OTHERS + SMALL.length, users: OTHERS + SMALL.length });
  });
});
