import { sql } from 'kysely';
import type { Db } from './index';

/** The channel relays LISTEN on for "the outbox has new rows". */
export const OUTBOX_CHANNEL = 'outbox';

/**
 * Tells listening relays that rows were committed to the outbox. Sent after the commit, in a
 * statement of its own: a NOTIFY inside the writing transaction would serialise every commit on
 * the cluster-wide notify lock. Only a hint: a relay that misses it finds the rows by polling.
 */
export async function notifyOutbox(db: Db): Promise<void> {
  await sql`SELECT pg_notify(${OUTBOX_CHANNEL}, '')`.execute(db);
}

/**
 * Coalesces hints, as a token bucket: up to `burst` hints go out at once, and the bucket refills by
 * one per `minGapMs`. So a busy API still sends at most one hint per `minGapMs` on average (a few
 * dozen a second, not one per order), while commits that come closer together than that now and then
 * (two orders 5 ms apart at 50 orders/s) are each hinted at once instead of the second waiting out
 * the gap: an idle relay hears of every commit within a millisecond. Once the bucket is empty the
 * next hint is sent when a token is back, and hints meanwhile join it. A failed hint is dropped, as
 * a lost one would be.
 */
export function createOutboxHinter(
  send: () => Promise<unknown>,
  { minGapMs = 20, burst = 4, onError }: { minGapMs?: number; burst?: number; onError?: (error: unknown) => void } = {},
) {
  let tokens = burst;
  let refilledAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const refill = () => {
    const now = performance.now();
    tokens = Math.min(burst, tokens + (now - refilledAt) / minGapMs);
    refilledAt = now;
  };
  const sendNow = () => {
    timer = undefined;
    refill();
    tokens -= 1;
    send().catch((error: unknown) => onError?.(error));
  };
  return {
    /** Call after a commit that wrote outbox rows. */
    hint(): void {
      if (timer) return;
      refill();
      if (tokens >= 1) sendNow();
      // Rounded up: a timer counts whole milliseconds, and one that fired early would find no token.
      else timer = setTimeout(sendNow, Math.ceil((1 - tokens) * minGapMs)).unref();
    },
    /** Drops a pending hint (shutdown). */
    close(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
