import { backoff, type Logger } from '@order-service/shared';
import { pause } from './retry';

/**
 * Runs `declare` until it succeeds or `signal` aborts. A broker that is down at start is waited
 * for, not a reason to exit: `pnpm start` runs the processes together, and one exiting stops all.
 */
export async function declareWhenReachable(declare: () => Promise<void>, logger: Logger, signal: AbortSignal): Promise<boolean> {
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await declare();
      return !signal.aborted;
    } catch (error) {
      logger.warn({ err: (error as Error).message, attempt }, 'declaring exchanges and queues failed; retrying');
      await pause(backoff(attempt, { baseMs: 500, maxMs: 5_000 }), signal);
    }
  }
  return false;
}
