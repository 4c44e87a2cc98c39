import type { DataSource } from 'typeorm';
import { NotificationsConfigError } from '../notifications.errors';
import { assertPostgresDataSource, queryPoolWithoutJit } from './typeorm.compat';

const dataSource = (type: string, driver: object) => ({ options: { type }, driver }) as unknown as DataSource;

describe('assertPostgresDataSource', () => {
  it('accepts a Postgres DataSource whose driver lends pooled connections', () => {
    const ds = dataSource('postgres', { obtainMasterConnection: async () => [] });
    expect(assertPostgresDataSource(ds)).toBe(ds);
  });

  it('refuses another database, naming it', () => {
    expect(() => assertPostgresDataSource(dataSource('mysql', {}))).toThrow(NotificationsConfigError);
    expect(() => assertPostgresDataSource(dataSource('mysql', {}))).toThrow(/the DataSource is 'mysql'/);
  });

  it('refuses a TypeORM whose Postgres driver changed, naming the installed version', () => {
    expect(() => assertPostgresDataSource(dataSource('postgres', {}))).toThrow(/^nestjs-inbox: typeorm@\d+\.\d+\.\d+/);
  });
});

describe('queryPoolWithoutJit', () => {
  /** A DataSource lending one fake pooled client that records the statements it is sent. */
  const recording = () => {
    const sent: string[] = [];
    const released: (Error | undefined)[] = [];
    const client = {
      query: async ({ text }: { text: string }) => (sent.push(text), { rows: text === 'SELECT 1' ? [{ one: 1 }] : [] }),
      on: () => undefined,
      removeListener: () => undefined,
    };
    const ds = {
      options: { type: 'postgres' },
      logger: { logQuery: () => undefined },
      driver: { obtainMasterConnection: async () => [client, (err?: Error) => released.push(err)] },
    } as unknown as DataSource;
    return { ds, sent, released };
  };

  it('runs the statement in a read-only transaction of its own with JIT off, settings local to it', async () => {
    const { ds, sent, released } = recording();
    await expect(queryPoolWithoutJit(ds, { text: 'SELECT 1' })).resolves.toEqual([{ one: 1 }]);
    expect(sent).toEqual(['BEGIN READ ONLY; SET LOCAL jit = off', 'SELECT 1', 'COMMIT']);
    expect(released).toEqual([undefined]);
  });

  it("with genericPlan, also forces the prepared statement's generic plan for that transaction only", async () => {
    const { ds, sent } = recording();
    await queryPoolWithoutJit(ds, { text: 'SELECT 1' }, { genericPlan: true });
    expect(sent).toEqual(['BEGIN READ ONLY; SET LOCAL jit = off; SET LOCAL plan_cache_mode = force_generic_plan', 'SELECT 1', 'COMMIT']);
  });
});
