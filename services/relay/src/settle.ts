import { retryDelayMs } from './backoff';
import { markPublished, parkRows, scheduleRetry, type ClaimedRow } from './outbox.repository';
import type { OutboxPublisher } from './publisher';
import type { RelayDeps } from './relay';

/**
 * One claimed batch from wire to table: publish it, mark what the broker confirmed (only after
 * the confirm, in one statement), and put the rest back for a retry or park it. Resolves with
 * the delay until the first retry is due, if any.
 */
export async function settleBatch(
  deps: RelayDeps,
  publisher: OutboxPublisher,
  rows: ClaimedRow[],
  token: string,
): Promise<number | undefined> {
  const { db, logger, metrics, settings } = deps;
  const leaseEnds = Date.now() + settings.leaseMs;
  await deps.onCrashPoint?.('before-publish', rows);
  const startedAt = Date.now();
  const outcomes = await publisher.publishBatch(rows);
  const publishedAt = Date.now();

  const confirmed = outcomes.flatMap((o) => (o.ok ? [o] : []));
  const failed = outcomes.flatMap((o) => (o.ok ? [] : [o]));
  if (confirmed.length > 0) await deps.onCrashPoint?.('after-confirm', confirmed.map((o) => o.row));

  const toPark = failed.filter((o) => o.row.attempts >= settings.maxAttempts);
  const toRetry = failed
    .filter((o) => o.row.attempts < settings.maxAttempts)
    .map((o) => ({ id: o.row.id, error: o.error, delayMs: retryDelayMs(o.row.attempts, settings.backoff), eventId: o.row.event_id }));

  // Postgres may blip right after the broker confirmed. Keep trying while the lease holds;
  // after that the rows go to another claim anyway (and are published again: at least once).
  const persist = async <T>(write: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await write();
      } catch (error) {
        const delay = Math.min(50 * 2 ** attempt, 2_000);
        if (Date.now() + delay >= leaseEnds) throw error;
        logger.warn({ err: (error as Error).message, attempt }, 'updating the outbox failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  };

  const [marked, retried, parked] = await Promise.all([
    persist(() => markPublished(db, confirmed.map((o) => o.row.id), token)),
    persist(() => scheduleRetry(db, toRetry, token)),
    persist(() => parkRows(db, toPark.map((o) => ({ id: o.row.id, error: o.error })), token)),
  ]);

  logger.debug({ rows: rows.length, publishMs: publishedAt - startedAt, settleMs: Date.now() - publishedAt }, 'batch settled');
  metrics.published.inc(marked);
  for (const o of confirmed) metrics.commitToConfirm.observe((o.confirmedAt - o.row.created_at.getTime()) / 1_000);
  if (marked < confirmed.length) {
    logger.warn({ confirmed: confirmed.length, marked }, 'lease lost before marking; those rows will be published again');
  }
  const firstRetryMs = toRetry.length > 0 ? Math.min(...toRetry.map((r) => r.delayMs)) : undefined;
  if (toRetry.length > 0) {
    metrics.retried.inc(retried);
    logger.warn(
      { rows: toRetry.length, err: toRetry[0]!.error, eventIds: toRetry.slice(0, 10).map((r) => r.eventId), delayMs: firstRetryMs },
      'publishing failed; rows will be retried',
    );
  }
  if (toPark.length > 0) {
    metrics.parked.inc(parked);
    logger.error(
      { rows: toPark.length, attempts: settings.maxAttempts, err: toPark[0]!.error, eventIds: toPark.map((o) => o.row.event_id) },
      'outbox rows parked after their last attempt; redrive them once the cause is fixed',
    );
  }
  return firstRetryMs;
}
