import { sql } from 'kysely';
import type { Db } from '@order-service/shared';

// Queries about the outbox for the backlog gauges and the planner-statistics guard.

/** Pending rows and the age of the oldest; both come from the small pending-rows index. */
export async function pendingStats(db: Db) {
  const row = await db
    .selectFrom('outbox')
    .select([
      sql<string>`count(*)`.as('backlog'),
      sql<number | null>`extract(epoch FROM now() - min(created_at))::float8`.as('oldest_age_seconds'),
    ])
    .where('published_at', 'is', null)
    .where('parked_at', 'is', null)
    .executeTakeFirstOrThrow();
  return { backlog: Number(row.backlog), oldestAgeSeconds: Math.max(0, row.oldest_age_seconds ?? 0) };
}

/** Parked rows still waiting for a redrive. No index serves this, so callers cache it. */
export async function countParked(db: Db): Promise<number> {
  const row = await db
    .selectFrom('outbox')
    .select(sql<string>`count(*)`.as('parked'))
    .where('parked_at', 'is not', null)
    .where('published_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(row.parked);
}

/**
 * Refreshes the planner's statistics of the outbox. Not SKIP_LOCKED: an autovacuum in the way
 * gives up its lock within deadlock_timeout, and claiming on stale statistics costs far more.
 */
export async function analyzeOutbox(db: Db): Promise<void> {
  await sql`ANALYZE outbox`.execute(db);
}
