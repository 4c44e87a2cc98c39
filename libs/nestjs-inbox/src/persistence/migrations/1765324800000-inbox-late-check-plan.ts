import type { MigrationInterface, QueryRunner } from 'typeorm';
import { inboxSchema } from './1764374400000-inbox-sql-privileges';
import { scopedAssignSeq } from './1764460800000-inbox-scopes';

/** As InboxSqlPrivileges pins it: see there. */
const PINNED = `SET search_path = pg_catalog, pg_temp`;

/**
 * The `late` check of `inbox_assign_seq` (a shared row's position, given at its commit) in a
 * shape its cached plan cannot walk the stream's history with. PL/pgSQL prepares the check once
 * per connection and, from the sixth commit on, keeps a generic plan, which does not know that
 * `o.id > NEW.id` keeps a handful of rows (those stored after this one and committed first) while
 * `o.seq < next_seq` keeps nearly every row of the stream: costed alike, the EXISTS read the
 * (stream, scope, seq) index from the stream's first position (47 ms per broadcast at 200,000
 * broadcasts, with the stream's row locked; docs/performance.md). Ordered by id with LIMIT 1, the
 * only cheap plan is the (stream, scope, id) index from NEW.id up. Same answer: whether a row
 * stored after this one already has a lower position.
 */
export class InboxLateCheckPlan1765324800000 implements MigrationInterface {
  name = 'InboxLateCheckPlan1765324800000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(assignSeq(await inboxSchema(db)));
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(scopedAssignSeq(await inboxSchema(db)));
  }
}

/** InboxScopes' `inbox_assign_seq`, its `late` check ordered by id (see InboxLateCheckPlan). */
const assignSeq = (s: string) => `
  CREATE OR REPLACE FUNCTION ${s}.inbox_assign_seq() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER ${PINNED} AS $$
  DECLARE
    next_seq bigint;
    next_type_seq bigint;
  BEGIN
    -- Deleted again in its own transaction: no position, so the stream stays gapless.
    PERFORM 1 FROM ${s}.inbox_notification WHERE id = NEW.id;
    IF NOT FOUND THEN
      RETURN NULL;
    END IF;
    INSERT INTO ${s}.inbox_stream AS st (stream, scope, seq) VALUES (COALESCE(NEW.topic, ''), NEW.scope, 1)
    ON CONFLICT (stream, scope) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_seq;
    INSERT INTO ${s}.inbox_stream_type AS st (stream, scope, type, seq) VALUES (COALESCE(NEW.topic, ''), NEW.scope, NEW.type, 1)
    ON CONFLICT (stream, scope, type) DO UPDATE SET seq = st.seq + 1
    RETURNING st.seq INTO next_type_seq;
    -- In id order from NEW.id, the only order an index serves cheaply: a generic plan must not
    -- read the stream's positions from its first one (InboxLateCheckPlan).
    UPDATE ${s}.inbox_notification SET seq = next_seq, type_seq = next_type_seq, late = COALESCE((
             SELECT true FROM ${s}.inbox_notification o
              WHERE o.user_id IS NULL AND COALESCE(o.topic, '') = COALESCE(NEW.topic, '')
                AND o.scope = NEW.scope
                AND o.id > NEW.id AND o.seq < next_seq
              ORDER BY o.id LIMIT 1), false)
     WHERE id = NEW.id;
    RETURN NULL;
  END $$`;
