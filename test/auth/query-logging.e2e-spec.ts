import type { Logger as TypeOrmLogger } from 'typeorm';
import { migrate, startApp, type TestApp } from '../support/app';
import { createDatabase } from '../support/database';

/** What the DataSource's logger was given for each query, as TypeORM's query logging would print it. */
function captureQueries(t: TestApp): { text: string; parameters: unknown }[] {
  const seen: { text: string; parameters: unknown }[] = [];
  const logger: TypeOrmLogger = {
    logQuery: (text, parameters) => void seen.push({ text, parameters }),
    logQueryError: () => undefined,
    logQuerySlow: () => undefined,
    logSchemaBuild: () => undefined,
    logMigration: () => undefined,
    log: () => undefined,
  };
  // The host's logger, as `TypeOrmModule.forRoot({ logging: true, logger })` would set it.
  Object.assign(t.dataSource, { logger });
  return seen;
}

/** Issue 20.5: the library's pooled statements carry bodies and user ids; the logger gets them only when asked. */
describe("query logging of the library's statements", () => {
  let db: Awaited<ReturnType<typeof createDatabase>>;
  let quiet: TestApp;
  let verbose: TestApp;

  beforeAll(async () => {
    db = await createDatabase();
    await migrate(db.url);
    quiet = await startApp(db.url);
    verbose = await startApp(db.url, { logQueryParameters: true });
  });
  afterAll(async () => {
    await quiet?.close();
    await verbose?.close();
    await db?.drop();
  });

  it('logs the SQL of a notify and a page without their values, unless logQueryParameters: true', async () => {
    const seen = captureQueries(quiet);
    await quiet.service.notify('logged-user-1', { type: 't', title: 'private title', body: 'private body' });
    await quiet.service.list('logged-user-1');
    const ours = seen.filter((q) => /inbox_/.test(q.text));
    expect(ours.length).toBeGreaterThanOrEqual(2);
    expect(ours.map((q) => q.parameters)).toEqual(ours.map(() => undefined));
    expect(JSON.stringify(seen)).not.toMatch(/private body|private title|logged-user-1/);

    const shown = captureQueries(verbose);
    await verbose.service.notify('logged-user-2', { type: 't', title: 't', body: 'shown body' });
    await verbose.service.list('logged-user-2');
    const values = JSON.stringify(shown.map((q) => q.parameters));
    expect(values).toContain('shown body');
    expect(values).toContain('logged-user-2');
  });
});
