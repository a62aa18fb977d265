import {
  CompiledQuery,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
} from 'kysely';
import type { DB, Db } from '@order-service/shared';

/** One statement a use case sent, in order, with its bind parameters. */
export interface CapturedStatement {
  sql: string;
  parameters: readonly unknown[];
}

/** Answers a captured query with rows, so a use case that reads (prices, a status) runs to its end. */
export type Answer = (statement: CapturedStatement) => Array<Record<string, unknown>>;

/**
 * A Kysely whose driver records every statement instead of sending it. Running a service's
 * own use case (placeOrder, applyPayment) against it yields the exact SQL that use case sends,
 * so the pgbench limit of a figure runs the same transaction and cannot drift from the code.
 */
export function captureDb(answer: Answer = () => []): { db: Db; statements: CapturedStatement[] } {
  const statements: CapturedStatement[] = [];
  const record = (query: CompiledQuery): QueryResult<never> => {
    const statement = { sql: query.sql, parameters: query.parameters };
    statements.push(statement);
    return { rows: answer(statement) as never[] };
  };
  const connection: DatabaseConnection = {
    executeQuery: async <R>(query: CompiledQuery) => record(query) as QueryResult<R>,
    // eslint-disable-next-line require-yield -- streaming is never used by the captured use cases
    async *streamQuery() {
      throw new Error('streaming is not captured');
    },
  };
  const driver: Driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => void record(CompiledQuery.raw('begin')),
    commitTransaction: async () => void record(CompiledQuery.raw('commit')),
    rollbackTransaction: async () => void record(CompiledQuery.raw('rollback')),
    releaseConnection: async () => {},
    destroy: async () => {},
  };
  const db = new Kysely<DB>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (k) => new PostgresIntrospector(k),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return { db, statements };
}

/** A value that pgbench regenerates for every transaction (an id), as the SQL expression that makes it. */
export interface FreshValue {
  value: unknown;
  /** e.g. `(select order_id from ids)` with `ids` as the CTE in `prelude`. */
  expression: string;
}

/**
 * Turns captured statements into a pgbench script for `-M extended`: each bind parameter
 * becomes a pgbench variable (sent as a real bind parameter, like pg does), except values in
 * `fresh`, which become SQL that is new in every transaction. `cte` is added to the WITH of the
 * statement that uses a fresh value (e.g. a CTE generating the ids with gen_random_uuid());
 * `preamble` lines (pgbench meta-commands) come first.
 */
export function toPgbenchScript(statements: CapturedStatement[], fresh: FreshValue[], cte: string, preamble: string[] = []) {
  const variables: Record<string, string> = {};
  let next = 1;
  const lines = statements.map((statement) => {
    let usesFresh = false;
    let sql = statement.sql.trim().replace(/\$(\d+)/g, (_match, index: string) => {
      const value = statement.parameters[Number(index) - 1];
      // A use case that takes a list (applyPayments' unnest) sends a fresh value as a one-element array.
      const single = Array.isArray(value) && value.length === 1 ? (value[0] as unknown) : undefined;
      const freshValue = fresh.find((f) => f.value === value || (single !== undefined && f.value === single));
      if (freshValue) {
        usesFresh = true;
        return single === undefined ? freshValue.expression : `array[${freshValue.expression}]`;
      }
      // pgbench variables cannot hold NULL; pg sends it as an untyped null, which this equals.
      if (value === null || value === undefined) return 'null';
      const name = `p${next++}`;
      variables[name] = pgText(value);
      return `:${name}`;
    });
    if (usesFresh) sql = /^with\s/i.test(sql) ? sql.replace(/^with\s+/i, `with ${cte}, `) : `with ${cte} ${sql}`;
    return `${sql.replace(/\s*\n\s*/g, ' ')};`;
  });
  return { script: `${[...preamble, ...lines].join('\n')}\n`, variables };
}

/** A bind parameter as the text pg would send for it. */
function pgText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    return `{${value.map((item) => (item === null || item === undefined ? 'NULL' : `"${pgText(item).replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`)).join(',')}}`;
  }
  return String(value);
}
