import { sql } from 'kysely';
import type { Clock, Db, Logger } from '@order-service/shared';

/**
 * Refreshes the planner's statistics of the outbox. Not SKIP_LOCKED: an autovacuum in the way
 * gives up its lock within deadlock_timeout, and claiming on stale statistics costs far more.
 */
async function analyzeOutbox(db: Db): Promise<void> {
  await sql`ANALYZE outbox`.execute(db);
}

export interface StatsGuardOptions {
  batchSize: number;
  /** Rows claimed after idle, and while the statistics are being refreshed. */
  probeSize?: number;
  /** Statistics refreshed this long before a backlog appeared are trusted for it. */
  freshForMs?: number;
  /** A claim slower than this means the plan is bad and the statistics are stale. */
  slowClaimMs?: number;
}

/**
 * Sizes each claim so that stale planner statistics can never make it slow.
 *
 * The claim relies on the planner knowing that many rows are pending. Statistics taken while the
 * table was empty or fully published (a new database, a quiet night) say that almost nothing is
 * pending, and the planner then checks "an earlier row of the same order?" by scanning the
 * pending rows for every candidate: seconds per claim of a full batch on a backlog of tens of
 * thousands, until autovacuum notices (a minute or more). The cost grows with the claim's LIMIT,
 * so:
 * - after idle the relay claims a small probe (cheap with any plan; an idle wake-up rarely finds
 *   more rows than that, so it costs no extra round trip);
 * - a full probe means a backlog: unless the statistics are recent, ANALYZE runs in the
 *   background (tens of milliseconds) while claims stay probe-sized, then full batches follow;
 * - a slow or timed-out claim makes the statistics untrusted again.
 */
export function createStatsGuard(db: Db, logger: Logger, clock: Clock, options: StatsGuardOptions) {
  const probeSize = Math.min(options.probeSize ?? 8, options.batchSize);
  const freshForMs = options.freshForMs ?? 10_000;
  const slowClaimMs = options.slowClaimMs ?? 1_000;
  let analyzedAt = -Infinity;
  let backlogSince = -Infinity;
  let analyzing: Promise<void> | undefined;

  const refresh = (reason: string) => {
    analyzing ??= (async () => {
      const startedAt = clock.now();
      const started = performance.now();
      try {
        await analyzeOutbox(db);
        analyzedAt = clock.now();
        logger.info({ reason, analyzeMs: Math.round(performance.now() - started) }, 'refreshed outbox statistics');
      } catch (error) {
        // Go on with full batches on whatever statistics there are (autovacuum's); a slow claim
        // brings the relay back here. (A role that does not own the table gets a warning from
        // Postgres, not an error, and the same outcome.)
        analyzedAt = startedAt;
        logger.warn({ err: (error as Error).message }, 'refreshing outbox statistics failed');
      } finally {
        analyzing = undefined;
      }
    })();
  };

  return {
    /** How many rows the next claim may take. */
    limit(afterIdle: boolean): number {
      if (afterIdle) return probeSize;
      if (analyzedAt >= backlogSince - freshForMs) return options.batchSize;
      refresh('backlog found');
      return probeSize;
    },

    afterClaim(outcome: { afterIdle: boolean; rows: number; limit: number; ms: number; error?: unknown }): void {
      const now = clock.now();
      if (outcome.afterIdle && outcome.rows >= outcome.limit) backlogSince = now;
      const timedOut = (outcome.error as { code?: string } | undefined)?.code === '57014';
      if ((outcome.ms > slowClaimMs || timedOut) && now - analyzedAt > 5_000) {
        analyzedAt = -Infinity;
        backlogSince = now;
      }
    },

    /** Resolves when a refresh in progress is done (for shutdown). */
    settled: () => analyzing ?? Promise.resolve(),
  };
}

export type StatsGuard = ReturnType<typeof createStatsGuard>;
