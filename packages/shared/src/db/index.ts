import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
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
  /**
   * Commit without waiting for the WAL to reach the disk (`synchronous_commit = off`). Only for a
   * process whose writes can be lost in a Postgres crash without losing anything: the relay's
   * marks, whose loss means an event is published again, which at-least-once delivery allows.
   */
  asynchronousCommit?: boolean;
  /**
   * Plan each prepared statement once, for all its calls (`plan_cache_mode = force_generic_plan`),
   * and read tables by index wherever an index serves (`enable_seqscan = off`). For a process whose
   * hot statement is large and made of keyed lookups: planning it each call costs Postgres more than
   * running it, and Postgres, left to choose, re-plans it on every call. A plan made once must not
   * depend on how large the tables were then: made while they were small, it would scan or hash
   * them whole on every call as they grow, until autovacuum analyzes them, up to a minute later.
   */
  planOnce?: boolean;
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

/** How a process's Postgres sessions run, beyond the pool: what createDb sets on each connection. */
export type SessionSettings = Pick<DbOptions, 'asynchronousCommit' | 'planOnce'>;

/**
 * The server settings of a session made with `settings`, as the startup `options` of a connection
 * (also PGOPTIONS, for a tool that must run a process's statements as its sessions run them).
 * While a statement runs (or waits on a lock), the server checks every second that its client is
 * still there, and cancels the statement if not: a request whose connection died stores nothing,
 * even when it is a lone statement that would otherwise commit on its own.
 */
export function sessionOptions(settings: SessionSettings): string {
  return [
    '-c client_connection_check_interval=1000',
    settings.asynchronousCommit ? '-c synchronous_commit=off' : '',
    settings.planOnce ? '-c plan_cache_mode=force_generic_plan -c enable_seqscan=off' : '',
  ]
    .filter(Boolean)
    .join(' ');
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
    options: sessionOptions(options),
  });
  // Without a listener, an error on an idle client (e.g. pg_terminate_backend) crashes the process.
  pool.on('error', (error) => options.onIdleError?.(error));
  // pg-pool listens only while a client is idle. A client whose connection dies while checked
  // out (Postgres restarted or the network cut mid-query) also emits 'error', which would crash
  // the process; its query already fails with that error, and the pool drops it on release.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** The pool behind each Db made by createDb, for the statements that are prepared once per connection. */
const pools = new WeakMap<Db, pg.Pool>();

/**
 * Runs a hot statement as a named prepared statement: Postgres parses and plans it once per
 * connection instead of on every call (node-postgres's default, the unnamed statement, costs about
 * twice the server time). `name` must stand for one `text` only. A Db not made by createDb (a
 * test's recording driver) runs the same text unprepared.
 */
export async function preparedQuery<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row[]> {
  const pool = pools.get(db);
  if (pool) return (await pool.query<Row & pg.QueryResultRow>({ name, text, values })).rows;
  return (await db.executeQuery<Row>(CompiledQuery.raw(text, values))).rows;
}
