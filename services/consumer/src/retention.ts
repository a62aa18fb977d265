import { deleteExpired, startPeriodic, type Db, type Logger } from '@order-service/shared';

/**
 * Deletes inbox rows older than `retentionHours`, in batches so no single statement holds many
 * locks. SKIP LOCKED lets replicas prune at the same time without waiting on each other.
 * Pruning is safe: a very late redelivery of a pruned event finds its order already out of
 * PENDING and is recorded as ignored, never applied twice.
 */
export function pruneInbox(db: Db, retentionHours: number, batchSize = 5_000): Promise<number> {
  return deleteExpired(db, { table: 'processed_events', key: 'event_id', timestamp: 'processed_at' }, retentionHours, batchSize);
}

/** Prunes the inbox every `intervalMs`, until `stop()`. Failures are logged and retried next time. */
export function startInboxRetention(
  db: Db,
  logger: Logger,
  { retentionHours, intervalMs }: { retentionHours: number; intervalMs: number },
): { stop(): Promise<void> } {
  return startPeriodic('inbox pruning', intervalMs, async () => {
    const deleted = await pruneInbox(db, retentionHours);
    if (deleted > 0) logger.info({ deleted, retentionHours }, 'inbox pruned');
  }, logger);
}
