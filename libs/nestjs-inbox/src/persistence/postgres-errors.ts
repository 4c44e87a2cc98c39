/**
 * What an error from a statement says about its cause: the statement's data, or the server.
 * Only an error Postgres itself sent back carries a SQLSTATE and a severity (pg's
 * `DatabaseError`, whose fields TypeORM's `QueryFailedError` copies); a refused or dropped
 * connection, a pool timeout or a lost reply carries neither (Node's `ECONNREFUSED` is a code
 * too, hence the severity).
 */
export function sqlState(err: unknown): string | undefined {
  const e = err as { code?: unknown; severity?: unknown } | null | undefined;
  return typeof e?.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code) && typeof e.severity === 'string' ? e.code : undefined;
}

/**
 * SQLSTATE classes about the server, the connection, the schema or concurrency rather than the
 * rows: every message would get them while they last (a standby answering read-only, the
 * database refusing connections, a missing table or privilege, a deadlock, a shutdown, a full
 * disk), so they are retried, never blamed on the message.
 */
const SERVER_CLASSES = new Set([
  '08', // connection exception
  '25', // invalid transaction state (25006: a read-only standby after a failover)
  '28', // invalid authorization (at connect)
  '3D', // invalid catalog name (the database is gone)
  '3F', // invalid schema name
  '40', // transaction rollback: serialization failure, deadlock
  '42', // syntax or access rule: the schema is not migrated, a privilege was revoked
  '53', // insufficient resources: disk full, out of memory, too many connections
  '55', // object not in prerequisite state: lock not available, database not accepting connections
  '57', // operator intervention: shutdown, cancel, statement timeout
  '58', // system error: I/O
  'F0', // configuration file error
  'XX', // internal error, data corrupted
]);

/**
 * `SQLSTATE <code>: <message>` when a live Postgres refused this statement for a reason that
 * is not about the server (see SERVER_CLASSES): running it again with the same rows fails the
 * same way. `undefined` for anything else, which may pass on a later try.
 */
export function statementRefusal(err: unknown): string | undefined {
  const code = sqlState(err);
  if (code === undefined || SERVER_CLASSES.has(code.slice(0, 2))) return undefined;
  return `SQLSTATE ${code}: ${(err as Error).message}`;
}

/** A data exception (class 22: text or JSON it cannot hold, a value out of range): the input's fault. */
export function isDataException(err: unknown): boolean {
  return sqlState(err)?.startsWith('22') ?? false;
}

/**
 * A Postgres error about the statement's data (SQLSTATE class 22 or 23, or 54: too large), not
 * about the server: NotificationWriter then retries a batch's calls one by one, so that one
 * caller's rows do not fail the others'.
 */
export function causedByRows(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}
