import { Client } from 'pg';
import { DIRECT_ROW, type Predicate, type RowState, SHARED_ROW } from 'nestjs-inbox/persistence/sql/row-state.sql';
import { PG_ADMIN_URL } from '../support/database';

/**
 * The row-state predicates are written once with their negations (persistence/sql/row-state.sql.ts):
 * the views test `is`, the state changes `isNot`. Postgres evaluates both over every combination
 * of nulls and orderings of the columns they read: `isNot` must be `NOT is` in three-valued
 * logic, or a mark would skip rows a view shows (or change rows it does not).
 */
const values = (type: string, vs: string[]) => `unnest(ARRAY[${vs.join(', ')}]::${type}[])`;
const TIMES = ['NULL', "'2026-01-01'"];
const POSITIONS = ['NULL', '1', '2', '3'];
const FLAGS = ['NULL', 'true', 'false'];

/** Every combination of the columns of the notification `n`, the user's state `s`, receipt `r`, stream `st`. */
const ROWS = `
  n AS (SELECT * FROM ${values('timestamptz', TIMES)} read_at, ${values('timestamptz', TIMES)} seen_at,
          ${values('bigint', POSITIONS)} tx_id, ${values('boolean', FLAGS)} archived, ${values('timestamptz', TIMES)} deleted_at,
          ${values('bigint', POSITIONS)} seq),
  s AS (SELECT * FROM ${values('bigint', POSITIONS)} read_xmin, ${values('bigint', POSITIONS)} seen_xmin,
          ${values('bigint', POSITIONS)} archived_xmin, ${values('bigint', POSITIONS)} deleted_xmin),
  r AS (SELECT * FROM ${values('timestamptz', TIMES)} read_at, ${values('timestamptz', TIMES)} seen_at,
          ${values('boolean', FLAGS)} archived, ${values('timestamptz', TIMES)} deleted_at),
  st AS (SELECT * FROM ${values('bigint', POSITIONS)} read, ${values('bigint', POSITIONS)} seen,
          ${values('bigint', POSITIONS)} archived, ${values('bigint', POSITIONS)} deleted)`;

describe('row-state predicates and their negations', () => {
  let pg: Client;
  beforeAll(async () => {
    pg = new Client({ connectionString: PG_ADMIN_URL });
    await pg.connect();
  });
  afterAll(() => pg?.end());

  /** Over `from`: how many rows `is` holds for, fails for, and where `isNot` is not its negation. */
  async function check(p: Predicate, from: string): Promise<{ holds: number; fails: number; disagree: number }> {
    const { rows } = await pg.query(
      `WITH ${ROWS} SELECT count(*) FILTER (WHERE (${p.is}))::int AS holds, count(*) FILTER (WHERE NOT (${p.is}))::int AS fails,
              count(*) FILTER (WHERE (NOT (${p.is})) IS DISTINCT FROM (${p.isNot}))::int AS disagree
         FROM ${from}`,
    );
    return rows[0];
  }

  const cases: [string, RowState, string][] = [
    ['a direct row', DIRECT_ROW, 'n CROSS JOIN s'],
    ['a shared row and its receipt', SHARED_ROW, 'n CROSS JOIN r CROSS JOIN st'],
  ];
  for (const [what, state, from] of cases) {
    for (const name of ['read', 'seen', 'archived', 'deleted'] as const) {
      it(`${what}: isNot is NOT is for ${name}, in every case`, async () => {
        const { holds, fails, disagree } = await check(state[name], from);
        expect(disagree).toBe(0);
        // Not vacuous: the combinations put rows on both sides.
        expect(holds).toBeGreaterThan(0);
        expect(fails).toBeGreaterThan(0);
      });
    }
  }
});
