import { deleteExpired, startPeriodic, type Db, type Logger } from '@order-service/shared';

/**
 * Deletes Idempotency-Keys older than `retentionHours`. The orders stay; only the ability to
 * replay their original response ends, after a window far longer than any client retries.
 * Rows are deleted by `order_id`, which is unique: a key alone names one row per customer.
 */
export function pruneIdempotencyKeys(db: Db, retentionHours: number, batchSize = 1_000): Promise<number> {
  return deleteExpired(db, { table: 'idempotency_keys', key: 'order_id', timestamp: 'created_at' }, retentionHours, batchSize);
}

/** Prunes expired Idempotency-Keys every `intervalMs`, until `stop()`. */
export function startIdempotencyRetention(db: Db, logger: Logger, { retentionHours, intervalMs }: { retentionHours: number; intervalMs: number }) {
  return startPeriodic('idempotency key pruning', intervalMs, async () => {
    const deleted = await pruneIdempotencyKeys(db, retentionHours);
    if (deleted > 0) logger.info({ deleted, retentionHours }, 'expired idempotency keys pruned');
  }, logger);
}
