import type { Db, Logger } from '@order-service/shared';
import { analyzeOutbox, countPendingUpTo } from './outbox.stats';

export interface StatsGuardOptions {
  /** A backlog at least this large found after idle triggers an ANALYZE (twice the batch size). */
  backlogThreshold: number;
  /** A claim slower than this means the plan is bad. */
  slowClaimMs?: number;
  /** At most one ANALYZE for a backlog found after idle per this interval. */
  minIntervalMs?: number;
}

/**
 * Keeps the claim query's plan fast when a backlog appears suddenly.
 *
 * The claim relies on the planner knowing that many rows are pending. Statistics taken while the
 * table was empty or fully published (a new database, a quiet night) say that almost nothing is
 * pending, and the planner then checks "an earlier row of the same order?" by scanning every
 * pending row for every candidate: seconds per claim on a backlog of tens of thousands, for as
 * long as autovacuum takes to notice (up to a minute or more). So the relay runs ANALYZE itself
 * (tens of milliseconds):
 * - before claiming after idle, when it finds a backlog;
 * - after a claim that was slow, failed on the statement timeout, or came back full right after
 *   idle (the backlog committed between the look and the claim).
 */
export function createStatsGuard(db: Db, logger: Logger, options: StatsGuardOptions) {
  const slowClaimMs = options.slowClaimMs ?? 1_000;
  const minIntervalMs = options.minIntervalMs ?? 30_000;
  let analyzedAt = -Infinity;
  let suspect = false;

  async function analyze(reason: string, details: Record<string, unknown> = {}) {
    const startedAt = Date.now();
    await analyzeOutbox(db);
    analyzedAt = Date.now();
    suspect = false;
    logger.info({ reason, ...details, analyzeMs: analyzedAt - startedAt }, 'refreshed outbox statistics');
  }

  return {
    async beforeClaim(afterIdle: boolean): Promise<void> {
      try {
        // Even when suspect, not more than every few seconds: a claim slow for another reason
        // (an overloaded server) must not turn into back-to-back ANALYZEs.
        if (suspect && Date.now() - analyzedAt > 5_000) return await analyze('slow or failed claim');
        if (!afterIdle || Date.now() - analyzedAt < minIntervalMs) return;
        const pending = await countPendingUpTo(db, options.backlogThreshold);
        if (pending >= options.backlogThreshold) await analyze('backlog found after idle', { pendingAtLeast: pending });
      } catch (error) {
        // The claim works without it (only slower until autovacuum catches up). A role that does
        // not own the table gets a warning from Postgres, not an error, and the same fallback.
        logger.warn({ err: (error as Error).message }, 'refreshing outbox statistics failed');
      }
    },

    afterClaim(afterIdle: boolean, outcome: { rows: number; batchSize: number; ms: number; error?: unknown }): void {
      const timedOut = (outcome.error as { code?: string } | undefined)?.code === '57014';
      const fullAfterIdle = afterIdle && outcome.rows >= outcome.batchSize && Date.now() - analyzedAt > minIntervalMs;
      if (outcome.ms > slowClaimMs || timedOut || fullAfterIdle) suspect = true;
    },
  };
}
