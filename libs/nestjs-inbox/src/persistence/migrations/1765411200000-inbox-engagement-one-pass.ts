import type { MigrationInterface, QueryRunner } from 'typeorm';
import { deliveredEngagement } from './1764979200000-inbox-delivery-record';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';

/** The CTEs of users by seen position, each used once: Postgres inlines such a CTE where it is used. */
const ONCE_USED = ['b_seen', 't_seen'];

/**
 * `inbox_engagement` reads the users by seen position once per call, as it does those by read
 * position. `b_seen` (per broadcast scope) and `t_seen` (per topic) are each referenced once, so
 * Postgres inlined them into the per-shared-row subquery: a sequential scan of every user state
 * per broadcast in the window, and of every subscription of the window's topics per publication
 * (2.1 s over one hour of 227 broadcasts and 412 publications with 100,000 user states, 52 s over
 * a day; docs/performance.md). MATERIALIZED computes each once, as `b_read` and `t_read` are for
 * their several uses: 0.13 s and 1.2 s. Same rows.
 */
export class InboxEngagementOnePass1765411200000 implements MigrationInterface {
  name = 'InboxEngagementOnePass1765411200000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(onePass(await inboxSchema(db)));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(deliveredEngagement(await inboxSchema(db)).replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION'));
  }
}

/** InboxDeliveryRecord's `inbox_engagement` with its once-used CTEs materialized (same signature: grants stay). */
function onePass(s: string): string {
  let text = deliveredEngagement(s).replace('CREATE FUNCTION', 'CREATE OR REPLACE FUNCTION');
  for (const cte of ONCE_USED) {
    const before = `${cte} AS (`;
    if (text.split(before).length !== 2) throw new Error(`inbox_engagement: expected one ${before}`);
    text = text.replace(before, `${cte} AS MATERIALIZED (`);
  }
  return text;
}
