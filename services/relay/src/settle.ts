import type { Transaction } from 'kysely';
import { backoff, type DB, type Logger } from '@order-service/shared';
import type { CrashPoint, RelaySettings } from './config';
import type { RelayMetrics } from './metrics';
import { settleRows, type ClaimedRow, type RowOutcome } from './outbox-repository';
import type { OutboxPublisher } from './publisher';

/** What settling a batch needs. */
export interface SettleDeps {
  publisher: OutboxPublisher;
  logger: Logger;
  settings: Pick<RelaySettings, 'maxAttempts' | 'backoff'>;
  onCrashPoint?: (point: CrashPoint, rows: ClaimedRow[]) => void | Promise<void>;
}

/** What reporting a settled batch needs. */
export interface ReportDeps {
  logger: Logger;
  metrics: RelayMetrics;
  settings: Pick<RelaySettings, 'maxAttempts'>;
}

/** What a settled batch wrote, to be reported once its transaction committed. */
export interface SettledBatch {
  rows: number;
  confirmed: Array<{ row: ClaimedRow; confirmedAt: number }>;
  retries: number;
  parked: number;
  /** The first failure, and the event ids that failed (for the log). */
  error?: string;
  failedEventIds: string[];
  /** Delay until the first retry is due, if any. */
  firstRetryMs?: number;
}

/**
 * One claimed batch from wire to table, inside the claim's transaction: publish it, then write
 * each row's outcome (published, out of the outbox and into its record, only after the broker
 * confirmed it; the rest back for a retry, or parked after its last attempt). The caller commits, then reports.
 */
export async function settleBatch(deps: SettleDeps, trx: Transaction<DB>, rows: ClaimedRow[]): Promise<SettledBatch> {
  const { publisher, settings } = deps;
  await deps.onCrashPoint?.('before-publish', rows);
  const startedAt = performance.now();
  const outcomes = await publisher.publishBatch(rows);
  const publishMs = Math.round(performance.now() - startedAt);

  const confirmed = outcomes.flatMap((o) => (o.ok ? [o] : []));
  const failed = outcomes.flatMap((o) => (o.ok ? [] : [o]));
  if (confirmed.length > 0) await deps.onCrashPoint?.('after-confirm', confirmed.map((o) => o.row));

  const written: RowOutcome[] = outcomes.map((o) => {
    if (o.ok) return { id: o.row.id, published: true };
    const park = o.row.attempts >= settings.maxAttempts;
    return { id: o.row.id, published: false, error: o.error, park, delayMs: park ? undefined : backoff(o.row.attempts, settings.backoff) };
  });
  await settleRows(trx, written);
  deps.logger.debug({ rows: rows.length, publishMs, settleMs: Math.round(performance.now() - startedAt) - publishMs }, 'batch settled');

  const delays = written.flatMap((o) => (!o.published && o.delayMs !== undefined ? [o.delayMs] : []));
  return {
    rows: rows.length,
    confirmed,
    retries: delays.length,
    parked: written.length - confirmed.length - delays.length,
    error: failed[0]?.error,
    failedEventIds: failed.slice(0, 10).map((o) => o.row.event_id),
    firstRetryMs: delays.length > 0 ? Math.min(...delays) : undefined,
  };
}

/** Counts and logs a batch whose transaction committed. */
export function reportSettled(deps: ReportDeps, batch: SettledBatch): void {
  const { logger, metrics } = deps;
  metrics.published.inc(batch.confirmed.length);
  for (const o of batch.confirmed) metrics.commitToConfirm.observe((o.confirmedAt - o.row.created_ms) / 1_000);
  if (batch.retries > 0) {
    metrics.retried.inc(batch.retries);
    logger.warn({ rows: batch.retries, err: batch.error, eventIds: batch.failedEventIds, delayMs: batch.firstRetryMs }, 'publishing failed; rows will be retried');
  }
  if (batch.parked > 0) {
    metrics.parked.inc(batch.parked);
    logger.error(
      { rows: batch.parked, attempts: deps.settings.maxAttempts, err: batch.error, eventIds: batch.failedEventIds },
      'outbox rows parked after their last attempt; redrive them once the cause is fixed',
    );
  }
}
