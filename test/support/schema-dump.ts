import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createDatabase } from './database';
import { dumpSchema, SCHEMA_FILE, SCHEMA_HEADER } from './schema';
import { migrate } from './migrate';

/** `npm run schema:dump`: rewrites persistence/schema.sql from a freshly migrated database (see schema.ts). */
async function main(): Promise<void> {
  const db = await createDatabase();
  try {
    await migrate(db.url);
    writeFileSync(resolve(__dirname, '../..', SCHEMA_FILE), SCHEMA_HEADER + (await dumpSchema(db.url)));
    console.log(`wrote ${SCHEMA_FILE}`);
  } finally {
    await db.drop();
  }
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
