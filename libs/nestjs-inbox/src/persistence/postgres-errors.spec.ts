import { createServer } from 'node:net';
import { Client } from 'pg';
import { isDataException, sqlState, statementRefusal } from './postgres-errors';

/** The machine's Postgres, as the e2e tests reach it (test/support/database.ts). */
const PG_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A loopback port nothing listens on (the OS picks one, then it is released). */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });

/** The error a real Postgres (or the network) gives, not a hand-made object. */
async function errorOf(run: (client: Client) => Promise<unknown>, url = PG_ADMIN_URL): Promise<unknown> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    await run(client);
  } catch (err) {
    return err;
  } finally {
    await client.end().catch(() => undefined);
  }
  throw new Error('no error');
}

describe('postgres-errors: the rows or the server?', () => {
  it('a data exception (class 22) is the input: jsonb refusing a lone surrogate, a cast, NUL', async () => {
    for (const [sql, code] of [
      [String.raw`SELECT '["\ud800"]'::jsonb`, '22P02'],
      [`SELECT 'seven'::int`, '22P02'],
      [String.raw`SELECT '["\u0000"]'::jsonb`, '22P05'],
    ]) {
      const err = await errorOf((c) => c.query(sql));
      expect(sqlState(err), sql).toBe(code);
      expect(isDataException(err), sql).toBe(true);
      expect(statementRefusal(err), sql).toMatch(new RegExp(`^SQLSTATE ${code}: `));
    }
  });

  it('a constraint of the table refusing these rows is a refusal of the statement, not a data exception', async () => {
    const err = await errorOf(async (c) => {
      await c.query('CREATE TEMP TABLE host_rule_check (title text CHECK (title <> $$refused$$))');
      await c.query(`INSERT INTO host_rule_check VALUES ('refused')`);
    });
    expect(statementRefusal(err)).toMatch(/^SQLSTATE 23514: new row for relation "host_rule_check" violates check constraint/);
    expect(isDataException(err)).toBe(false);
  });

  it('the server, the schema or the connection is never the statement: a missing table, a missing database, a refused connection', async () => {
    const missingTable = await errorOf((c) => c.query('SELECT * FROM no_such_table_here'));
    expect(sqlState(missingTable)).toBe('42P01');
    const missingDatabase = await errorOf(async () => undefined, `${PG_ADMIN_URL.replace(/\/[^/]*$/, '')}/no_such_database_here`);
    expect(sqlState(missingDatabase)).toBe('3D000');
    const refused = await errorOf(async () => undefined, `postgres://postgres@127.0.0.1:${await closedPort()}/postgres`);
    expect((refused as { code?: string }).code).toBe('ECONNREFUSED');
    expect(sqlState(refused)).toBeUndefined();
    for (const err of [missingTable, missingDatabase, refused]) {
      expect(statementRefusal(err)).toBeUndefined();
      expect(isDataException(err)).toBe(false);
    }
  });

  it('a five-letter Node error code (EPIPE) is not a SQLSTATE: only an error with a severity came from Postgres', () => {
    expect(sqlState(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))).toBeUndefined();
    expect(sqlState(undefined)).toBeUndefined();
  });
});
