import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Server the tests create their databases on; CI and the README use the machine's Postgres. */
export const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(run: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

/** Databases older than this are left over from killed runs; younger ones may be another run's. */
const STALE_AFTER_MS = 60 * 60 * 1000;

/** A new empty database for one test file, so files never see each other's rows. */
export async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  // The creation time in the name lets a concurrent run (another checkout, CI job) tell stale from live.
  const name = `inbox_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).then(() => undefined),
  };
}

/** Drops databases left behind by test runs that were killed, never those of a run still going. */
export async function dropStaleDatabases(): Promise<void> {
  await admin(async (c) => {
    const { rows } = await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'inbox\\_test\\_%'`);
    for (const { datname } of rows) {
      const created = /^inbox_test_([0-9a-z]+)_[0-9a-f]+$/.exec(datname);
      if (!created || Date.now() - parseInt(created[1], 36) < STALE_AFTER_MS) continue;
      await c.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
    }
  });
}
