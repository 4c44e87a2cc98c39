import { Client } from 'pg';

/**
 * The Postgres server the benches make their own databases on (named `inbox_bench_*`,
 * `inbox_scale_*` …, never `inbox_test_*`, which the test suite's setup drops).
 */
export const PG_ADMIN_URL =
  process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Runs one statement on the admin database, on a connection of its own (CREATE / DROP DATABASE cannot share a transaction). */
export async function admin<T = unknown>(sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    return (await c.query(sql, params)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The URL of database `name` on the admin server. */
export function databaseUrl(name: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** The library's migrations, as a host runs them (the test suite's own helper). */
export { migrate } from '../../test/support/migrate';
