import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDatabase } from '../support/database';
import { dumpSchema, normaliseDump, SCHEMA_DUMP_COMMAND, SCHEMA_FILE } from '../support/schema';
import { migrate } from '../support/migrate';

describe('persistence/schema.sql', () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('is the schema every migration leaves (pg_dump of a freshly migrated database)', async () => {
    const committed = normaliseDump(readFileSync(resolve(__dirname, '..', '..', SCHEMA_FILE), 'utf8'));
    const migrated = await dumpSchema(db.url);
    if (committed !== migrated) {
      const [a, b] = [committed.split('\n'), migrated.split('\n')];
      const at = a.findIndex((line, i) => line !== b[i]);
      throw new Error(
        `${SCHEMA_FILE} is not the schema the migrations leave: run \`${SCHEMA_DUMP_COMMAND}\` and commit the file.\n` +
          `First difference at line ${at + 1} of the normalised dump:\n  committed: ${a[at] ?? '(end)'}\n  migrated:  ${b[at] ?? '(end)'}`,
      );
    }
    expect(migrated).toContain('CREATE TABLE public.inbox_notification (');
  });
});
