import type { DataSource } from 'typeorm';
import { NotificationsConfigError } from '../notifications.errors';
import { assertPostgresDataSource } from './typeorm.compat';

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
