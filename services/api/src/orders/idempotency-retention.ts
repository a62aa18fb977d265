import { sql } from 'kysely';
import { startPeriodic, type Db, type Logger } from '@order-service/shared';

/**
 * Deletes Idempotency-Keys older than `retentionHours` in batches (SKIP LOCKED, so replicas prune
 * side by side). The orders stay; only the ability to replay their original response ends, after
 * a window far longer than any client retries.
 */
export async function pruneIdempotencyKeys(db: Db, retentionHours: number, batchSize = 1_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db
      .deleteFrom('idempotency_keys')
      .where('idempotency_key', 'in', (eb) =>
        eb
          .selectFrom('idempotency_keys')
          .select('idempotency_key')
          .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`)
          .limit(batchSize)
          .forUpdate()
          .skipLocked(),
      )
      .executeTakeFirst();
    const deleted = Number(result.numDeletedRows);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}

/** Prunes expired Idempotency-Keys every `intervalMs`, until `stop()`. */
export function startIdempotencyRetention(db: Db, logger: Logger, { retentionHours, intervalMs }: { retentionHours: number; intervalMs: number }) {
  return startPeriodic('idempotency key pruning', intervalMs, async () => {
    const deleted = await pruneIdempotencyKeys(db, retentionHours);
    if (deleted > 0) logger.info({ deleted, retentionHours }, 'expired idempotency keys pruned');
  }, logger);
}
