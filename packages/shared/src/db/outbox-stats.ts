import { sql } from 'kysely';
import type { Db } from './index';

// What the relay has left to do, as its backlog gauges and `ops status` report it.

/**
 * Pending rows (not parked: a published row has left the outbox) and the age of the oldest in seconds, null when
 * there is none. Both come from the small pending-rows index.
 */
export async function pendingStats(db: Db): Promise<{ backlog: number; oldestAgeSeconds: number | null }> {
  const row = await db
    .selectFrom('outbox')
    .select([
      sql<string>`count(*)`.as('backlog'),
      sql<number | null>`extract(epoch FROM now() - min(created_at))::float8`.as('oldest_age_seconds'),
    ])
    .where('parked_at', 'is', null)
    .executeTakeFirstOrThrow();
  // created_at is the writer's clock, which may run ahead of the server's: such a row is new, not from the future.
  const age = row.oldest_age_seconds === null ? null : Math.max(0, row.oldest_age_seconds);
  return { backlog: Number(row.backlog), oldestAgeSeconds: age };
}

/** Parked rows still waiting for a redrive. No index serves this, so callers cache it or call it rarely. */
export async function countParked(db: Db): Promise<number> {
  const row = await db
    .selectFrom('outbox')
    .select(sql<string>`count(*)`.as('parked'))
    .where('parked_at', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(row.parked);
}
