import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './types';

export type * from './types';
export type Db = Kysely<DB>;

export interface DbOptions {
  /** Pool size. */
  max: number;
  /** Shown in pg_stat_activity, so operators can tell the processes apart. */
  applicationName: string;
  /** Called for errors on idle connections (Postgres restarted, connection killed). */
  onIdleError?: (error: Error) => void;
  /** Server-side cap on one statement, so a stuck query cannot hold a request forever. */
  statementTimeoutMs?: number;
  /** A transaction left idle this long (a bug, a hung or vanished client) is ended by the server. */
  idleInTransactionTimeoutMs?: number;
}

export const QUERY_READ_TIMEOUT = 'Query read timeout';

/**
 * A pg client that throws its connection away when a query gets no answer in time. pg's own
 * `query_timeout` fails the query but keeps the connection, whose next queries then wait behind
 * the one that never answered; destroying it makes the pool open a fresh one instead.
 */
class SelfDiscardingClient extends pg.Client {
  override query(...args: unknown[]): never {
    const result = (super.query as (...a: unknown[]) => unknown)(...args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (error instanceof Error && error.message === QUERY_READ_TIMEOUT) this.connection.stream.destroy();
      });
    }
    return result as never;
  }
}

/** Creates the typed query builder over a pg pool. Call `db.destroy()` to close the pool. */
export function createDb(connectionString: string, options: DbOptions): Db {
  const statementTimeoutMs = options.statementTimeoutMs ?? 10_000;
  const pool = new pg.Pool({
    Client: SelfDiscardingClient,
    connectionString,
    max: options.max,
    application_name: options.applicationName,
    // Fail fast when Postgres is unreachable instead of queueing requests forever.
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeoutMs,
    // The server's statement_timeout cannot help when the network, not the query, is stuck:
    // the client gives up a little later on its own.
    query_timeout: statementTimeoutMs + 1_000,
    keepAlive: true,
    idle_in_transaction_session_timeout: options.idleInTransactionTimeoutMs ?? 30_000,
  });
  // Without a listener, an error on an idle client (e.g. pg_terminate_backend) crashes the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  // pg-pool listens only while a client is idle. A client whose connection dies while checked
  // out (Postgres restarted or the network cut mid-query) also emits 'error', which would crash
  // the process; its query already fails with that error, and the pool drops it on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
}
