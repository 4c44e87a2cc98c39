import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The schema the library's migrations leave, as `persistence/schema.sql` holds it: what
 * `pg_dump -s --no-owner --no-privileges` prints for a freshly migrated database, less what
 * varies from run to run or between pg_dump versions (comments, the version, SET lines,
 * `\restrict` keys) and TypeORM's own `migrations` table (the host's, named by its DataSource).
 */

/** Where the committed dump lives, from the repository's root. */
export const SCHEMA_FILE = 'libs/nestjs-inbox/src/persistence/schema.sql';
/** The command that rewrites it (package.json). */
export const SCHEMA_DUMP_COMMAND = 'npm run schema:dump';

/** pg_dump must be of the server's major or newer: `PG_DUMP` names another binary than the one on PATH. */
const PG_DUMP = process.env.PG_DUMP ?? 'pg_dump';

/** What the file says above the dump (comment lines: the normalisation drops them again). */
export const SCHEMA_HEADER = `-- The schema nestjs-inbox's migrations leave, after the last one: pg_dump -s --no-owner
-- --no-privileges of a freshly migrated database, without SET lines and pg_dump's comments.
-- Generated: do not edit. After adding a migration, run \`${SCHEMA_DUMP_COMMAND}\` and commit
-- the difference (test/states/schema.e2e-spec.ts checks it).

`;

/** The normalised schema-only dump of the database at `url`. */
export async function dumpSchema(url: string): Promise<string> {
  const args = [
    '--schema-only',
    '--no-owner',
    '--no-privileges',
    '--exclude-table=public.migrations',
    '--exclude-table=public.migrations_id_seq',
    url,
  ];
  let stdout: string;
  try {
    ({ stdout } = await promisify(execFile)(PG_DUMP, args, { maxBuffer: 16 * 1024 * 1024 }));
  } catch (err) {
    throw new Error(`${PG_DUMP} failed (set PG_DUMP to a pg_dump of the server's major or newer): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return normaliseDump(stdout);
}

/** Drops the lines that are noise rather than schema; keeps one blank line between statements. */
export function normaliseDump(dump: string): string {
  const noise = /^(--|SET |SELECT pg_catalog\.set_config\(|\\restrict |\\unrestrict )/;
  const lines = dump.split('\n').filter((line) => !noise.test(line));
  return (
    lines
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}
