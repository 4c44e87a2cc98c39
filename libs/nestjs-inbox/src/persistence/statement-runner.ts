import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { QueryResultRow } from 'pg';
import { DataSource, EntityManager } from 'typeorm';
import { queryPool, queryPoolWithoutJit } from '../compat/typeorm.compat';
import { INBOX_DATA_SOURCE } from '../notifications.internal-constants';

/**
 * How many distinct statement texts get a name (StatementRunner.query); any more run unnamed.
 * The views' texts vary with a filter's shape, not its values: a host's few tabs make a few dozen.
 */
const MAX_NAMED_STATEMENTS = 500;

export interface StatementOptions {
  /** Run in the caller's transaction (no prepared statement: the transaction's connection is TypeORM's). */
  tx?: EntityManager;
  /** For the reads of many users (see queryPoolWithoutJit). */
  withoutJit?: boolean;
  /** Without JIT and always with the generic plan, whatever the batch's size (see queryPoolWithoutJit). */
  genericPlan?: boolean;
  /** The prepared statement's name, instead of one from the text's hash. */
  name?: string;
}

/**
 * Runs the library's SQL on the host's DataSource (or the caller's EntityManager, to join its
 * transaction). Every repository's statement goes through `query`; every statement that takes
 * a user id only ever touches that user's rows and the shared rows visible to them.
 */
@Injectable()
export class StatementRunner {
  constructor(@Inject(INBOX_DATA_SOURCE) private readonly dataSource: DataSource) {}

  /** Statement texts and their names: each is prepared once per pooled connection. */
  private readonly names = new Map<string, string>();

  get manager(): EntityManager {
    return this.dataSource.manager;
  }

  /**
   * Runs a statement in `tx`, or else on a pooled connection as a named prepared statement:
   * Postgres parses and plans it once per connection, then reuses a generic plan. Planning the
   * views' statements costs more than running them (at 10M rows: 1.5-2 ms against 0.5-1 ms,
   * bench/scale/explain-L.txt), and read-all, a page, a badge are one statement or two.
   */
  query<R extends QueryResultRow>(
    text: string,
    values: unknown[] = [],
    { tx, withoutJit = false, genericPlan = false, name }: StatementOptions = {},
  ): Promise<R[]> {
    if (tx) return tx.query(text, values);
    name ??= this.names.get(text);
    if (name === undefined && this.names.size < MAX_NAMED_STATEMENTS) {
      name = `nestjs-inbox:${createHash('sha1').update(text).digest('base64url')}`;
      this.names.set(text, name);
    }
    const config = { name, text, values };
    if (genericPlan || withoutJit) return queryPoolWithoutJit<R>(this.dataSource, config, { genericPlan });
    return queryPool<R>(this.dataSource, config);
  }
}
