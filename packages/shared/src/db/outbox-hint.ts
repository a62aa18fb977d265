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
 * Coalesces hints: the first after a quiet spell goes out at once (an idle relay hears of a commit
 * within a millisecond), later ones at most one per `minGapMs` (a busy API sends a few dozen a
 * second, not one per order). A failed hint is dropped, as a lost one would be.
 */
export function createOutboxHinter(
  send: () => Promise<unknown>,
  { minGapMs = 20, onError }: { minGapMs?: number; onError?: (error: unknown) => void } = {},
) {
  let lastSentAt = -Infinity;
  let timer: NodeJS.Timeout | undefined;
  const sendNow = () => {
    timer = undefined;
    lastSentAt = performance.now();
    send().catch((error: unknown) => onError?.(error));
  };
  return {
    /** Call after a commit that wrote outbox rows. */
    hint(): void {
      if (timer) return;
      const wait = lastSentAt + minGapMs - performance.now();
      if (wait <= 0) sendNow();
      else timer = setTimeout(sendNow, wait).unref();
    },
    /** Drops a pending hint (shutdown). */
    close(): void {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}
