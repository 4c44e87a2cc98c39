import type { QueryConfig, QueryResultRow } from 'pg';
import type { DataSource } from 'typeorm';
import { NotificationsConfigError } from '../notifications.errors';
import { installedVersion } from './peer-versions';

/**
 * What the library needs of TypeORM beyond `DataSource.query`, in one place. TypeORM 0.3 and
 * 1.x both declare `PostgresDriver.obtainMasterConnection()` public (a `pg` client of the
 * DataSource's pool and its release function); its return is typed `any`, hence the narrow type.
 */
interface PostgresDriverAccess {
  obtainMasterConnection(): Promise<[PgClient, (err?: Error) => void]>;
}
interface PgClient {
  query<R extends QueryResultRow>(config: QueryConfig): Promise<{ rows: R[] }>;
}

/**
 * Checked once at boot, where the module takes the DataSource: a DataSource of another
 * database, or a TypeORM whose driver lost the method, fails here with the version named.
 */
export function assertPostgresDataSource(dataSource: DataSource): DataSource {
  const type = dataSource.options.type;
  if (type !== 'postgres') {
    throw new NotificationsConfigError(
      `the DataSource is '${type}'; nestjs-inbox stores in PostgreSQL (type: 'postgres')`,
    );
  }
  const driver = dataSource.driver as unknown as Partial<PostgresDriverAccess>;
  if (typeof driver.obtainMasterConnection !== 'function') {
    throw new NotificationsConfigError(
      `typeorm@${installedVersion('typeorm') ?? '?'}: its Postgres driver has no obtainMasterConnection(); ` +
        'supported: typeorm ^0.3.20 || ^1',
    );
  }
  return dataSource;
}

/**
 * Runs one statement on a pooled connection of the DataSource, outside any transaction. With a
 * `name`, `pg` prepares it once per connection: parsed and planned once, not once per call.
 */
export async function queryPool<R extends QueryResultRow>(dataSource: DataSource, config: QueryConfig): Promise<R[]> {
  const [client, release] = await (dataSource.driver as unknown as PostgresDriverAccess).obtainMasterConnection();
  try {
    const { rows } = await client.query<R>(config);
    release();
    return rows;
  } catch (err) {
    // As pg's own pool.query does: a connection that failed a query is not reused.
    release(err as Error);
    throw err;
  }
}
