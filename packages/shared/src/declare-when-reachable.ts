import { backoff, type BackoffPolicy } from './backoff';
import { withDeadline } from './deadline';
import type { Logger } from './logger';

export interface DeclareRetry {
  logger: Logger;
  /** What is being declared, for the warning of a failed attempt ("the orders exchange"). */
  what: string;
  /** True once the process is stopping: no attempt starts after that. */
  stopped(): boolean;
  /** The wait between attempts; a stop should cut it short. */
  sleep(ms: number): Promise<void>;
  /**
   * Each attempt is given up after this long: an RPC to a broker that stopped answering would
   * otherwise wait for the heartbeat, and a stop would wait with it.
   */
  deadlineMs: number;
  policy: BackoffPolicy;
}

/**
 * Runs `declare` until it succeeds or the process stops; resolves with whether it succeeded. A
 * broker that is down at start is waited for, not a reason to exit: `pnpm start` runs the
 * processes together, and one exiting stops all.
 */
export async function declareWhenReachable(declare: () => Promise<void>, retry: DeclareRetry): Promise<boolean> {
  for (let attempt = 1; !retry.stopped(); attempt += 1) {
    try {
      await withDeadline(declare(), retry.deadlineMs, 'the broker');
      return !retry.stopped();
    } catch (error) {
      retry.logger.warn({ err: (error as Error).message, attempt }, `declaring ${retry.what} failed; retrying`);
      await retry.sleep(backoff(attempt, retry.policy));
    }
  }
  return false;
}
