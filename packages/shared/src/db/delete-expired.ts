import { sql } from 'kysely';
import type { DB } from './types';
import type { Db } from './index';

/** A table whose rows expire: its key column and the timestamp they age by. */
export interface ExpiringTable<T extends keyof DB = keyof DB> {
  table: T;
  key: keyof DB[T] & string;
  timestamp: keyof DB[T] & string;
}

/**
 * Deletes rows older than `olderThanHours`, `batchSize` at a time, so no statement holds many
 * locks or writes a burst of WAL. SKIP LOCKED lets replicas prune side by side without waiting
 * on each other. Resolves with the number of rows deleted.
 */
export async function deleteExpired<T extends keyof DB>(
  db: Db,
  { table, key, timestamp }: ExpiringTable<T>,
  olderThanHours: number,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await sql`
      DELETE FROM ${sql.table(table)} WHERE ${sql.ref(key)} IN (
        SELECT ${sql.ref(key)} FROM ${sql.table(table)}
        WHERE ${sql.ref(timestamp)} < now() - make_interval(hours => ${olderThanHours})
        LIMIT ${batchSize} FOR UPDATE SKIP LOCKED)`.execute(db);
    const deleted = Number(result.numAffectedRows ?? 0n);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
