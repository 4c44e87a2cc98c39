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
  on(event: 'error', listener: (err: Error) => void): unknown;
  removeListener(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Checked once at boot, where the module takes the DataSource: a DataSource of another
 * database, or a TypeORM whose driver lost the method, fails here with the version named.
 */
export function assertPostgresDataSource(dataSource: DataSource): DataSource {
  const type = dataSource.options.type;
  if (type !== 'postgres') {
    throw new NotificationsConfigError(`the DataSource is '${type}'; nestjs-inbox stores in PostgreSQL (type: 'postgres')`);
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

/** DataSources whose logger gets the library's statements without their values (`logQueryParameters: false`). */
const valuesHidden = new WeakSet<DataSource>();

/**
 * Whether the library's pooled statements on `dataSource` are logged with their values. Per
 * DataSource, not per statement, so the store need not carry the option; with several
 * registrations on one DataSource, any one that hides them hides them.
 */
export function logQueryValues(dataSource: DataSource, log: boolean): void {
  if (!log) valuesHidden.add(dataSource);
}

/** Logs a pooled statement through the DataSource's logger, as TypeORM logs its own queries. */
function logQuery(dataSource: DataSource, config: QueryConfig): void {
  dataSource.logger.logQuery(config.text, valuesHidden.has(dataSource) ? undefined : config.values);
}

/**
 * Runs one statement on a pooled connection of the DataSource, outside any transaction. With a
 * `name`, `pg` prepares it once per connection: parsed and planned once, not once per call.
 * Logged through the DataSource's logger, as its own queries are.
 */
export async function queryPool<R extends QueryResultRow>(dataSource: DataSource, config: QueryConfig): Promise<R[]> {
  logQuery(dataSource, config);
  const [client, release] = await (dataSource.driver as unknown as PostgresDriverAccess).obtainMasterConnection();
  // A checked-out client has no error listener of the pool's: an error between statements (the
  // server ending its connections on shutdown, 57P01) would be thrown as an unhandled 'error'
  // event and end the process. Caught here, it marks the connection broken instead.
  let broken: Error | undefined;
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  try {
    const { rows } = await client.query<R>(config);
    return rows;
  } catch (err) {
    broken ??= err as Error;
    throw err;
  } finally {
    client.removeListener('error', onError);
    // As pg's own pool.query does: a connection that failed is not reused.
    release(broken);
  }
}

const BEGIN_WITHOUT_JIT = 'BEGIN READ ONLY; SET LOCAL jit = off';
const BEGIN_GENERIC = `${BEGIN_WITHOUT_JIT}; SET LOCAL plan_cache_mode = force_generic_plan`;

/**
 * As queryPool, with Postgres' JIT compilation off for this statement (`SET LOCAL` in a
 * transaction of its own: two more round trips, no setting left on the host's pooled connection).
 * For the reads that take many users at once: their plans are estimated above `jit_above_cost`
 * (100,000 by default) from ~150 users on, and compiling them costs far more than running them:
 * a badge recount of 1,000 users took 2.3-4.9 s with JIT (jit_optimize_above_cost reached) and
 * 33 ms without (docs/performance.md).
 *
 * `genericPlan`: the prepared statement's generic plan, always (`plan_cache_mode`). Postgres
 * plans a statement's first five runs with their values, and then keeps doing so whenever such a
 * custom plan is estimated cheaper than the generic one: a batch of one or two users is (its
 * `unnest` is estimated at the array's length, the generic plan at 10 rows), so a connect storm's
 * small catch-up batches were planned anew every time, ~6 ms of Postgres each against 0.7 ms run
 * with the generic plan (docs/performance.md, "Connect time").
 */
export async function queryPoolWithoutJit<R extends QueryResultRow>(
  dataSource: DataSource,
  config: QueryConfig,
  { genericPlan = false }: { genericPlan?: boolean } = {},
): Promise<R[]> {
  logQuery(dataSource, config);
  const [client, release] = await (dataSource.driver as unknown as PostgresDriverAccess).obtainMasterConnection();
  let broken: Error | undefined;
  const onError = (err: Error) => (broken ??= err);
  client.on('error', onError);
  let open = false;
  try {
    await client.query({ text: genericPlan ? BEGIN_GENERIC : BEGIN_WITHOUT_JIT });
    open = true;
    const { rows } = await client.query<R>(config);
    await client.query({ text: 'COMMIT' });
    open = false;
    return rows;
  } catch (err) {
    if (open) await client.query({ text: 'ROLLBACK' }).catch((e: Error) => (broken ??= e));
    if (!open || broken) broken ??= err as Error;
    throw err;
  } finally {
    client.removeListener('error', onError);
    release(broken);
  }
}

/** A `pg` client of its own, for LISTEN (a pooled connection would be taken back and reused). */
export interface ListenerClient {
  connect(): Promise<unknown>;
  query<R = Record<string, unknown>>(sql: string): Promise<{ rows: R[] }>;
  end(): Promise<void>;
  on(event: 'notification', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
}

/** The connection options of a Postgres DataSource that a connection needs (the same on both majors). */
interface PostgresCredentials {
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string | (() => string | Promise<string>);
  database?: string;
  ssl?: unknown;
}
interface PostgresConnectionOptions extends PostgresCredentials {
  replication?: { master: PostgresCredentials };
  connectTimeoutMS?: number;
  extra?: Record<string, unknown>;
}

interface PostgresDriverInternals {
  /** The `pg` module TypeORM loaded for the DataSource (a public field of PostgresDriver on both majors). */
  postgres: { Client: new (config: object) => ListenerClient };
}

/**
 * A new connection with the DataSource's own connection options (the primary's, with
 * replication), as TypeORM builds them for its pool; `extra` applies too.
 */
export function listenerClient(dataSource: DataSource): ListenerClient {
  const options = dataSource.options as unknown as PostgresConnectionOptions;
  const credentials = options.replication?.master ?? options;
  const pg = (dataSource.driver as unknown as Partial<PostgresDriverInternals>).postgres;
  if (typeof pg?.Client !== 'function') {
    throw new NotificationsConfigError(
      `typeorm@${installedVersion('typeorm') ?? '?'}: its Postgres driver exposes no pg module; supported: typeorm ^0.3.20 || ^1`,
    );
  }
  return new pg.Client({
    connectionString: credentials.url,
    host: credentials.host,
    user: credentials.username,
    password: credentials.password,
    database: credentials.database,
    port: credentials.port,
    ssl: credentials.ssl,
    connectionTimeoutMillis: options.connectTimeoutMS,
    ...options.extra,
    application_name: 'nestjs-inbox listener',
  });
}
