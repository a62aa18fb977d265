import { sql } from 'kysely';
import { startPeriodic, type Db, type Logger } from '@order-service/shared';

/**
 * Deletes inbox rows older than `retentionHours`, in batches so no single statement holds many
 * locks. SKIP LOCKED lets replicas prune at the same time without waiting on each other.
 * Pruning is safe: a very late redelivery of a pruned event finds its order already out of
 * PENDING and is recorded as ignored, never applied twice.
 */
export async function pruneInbox(db: Db, retentionHours: number, batchSize = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const result = await db
      .deleteFrom('processed_events')
      .where('event_id', 'in', (eb) =>
        eb
          .selectFrom('processed_events')
          .select('event_id')
          .where('processed_at', '<', sql<Date>`now() - make_interval(hours => ${retentionHours})`)
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
