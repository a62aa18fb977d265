import type { Logger } from './logger';

export interface Periodic<T> {
  /** Runs the task now (after a run in progress, never beside it); resolves with its result, rejects with its error. */
  runNow(): Promise<T>;
  /** Ends the schedule and waits for a run in progress. */
  stop(): Promise<void>;
}

export interface PeriodicOptions {
  /** The warning a failed scheduled run logs (default: "<name> failed; will retry"). */
  failureMessage?: string;
}

/**
 * Runs `task` every `intervalMs` until `stop()`, never two runs at once. Each wait is jittered by
 * ±20 % so replicas spread out; a failed run is logged and simply tried again next time.
 */
export function startPeriodic<T>(
  name: string,
  intervalMs: number,
  task: () => Promise<T>,
  logger: Logger,
  options: PeriodicOptions = {},
): Periodic<T> {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  // The last run, scheduled or asked for; the next one starts after it.
  let last: Promise<unknown> = Promise.resolve();
  const runNow = (): Promise<T> => {
    const run = last.then(task);
    last = run.catch(() => {});
    return run;
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      void runNow()
        .catch((error: unknown) => {
          logger.warn({ err: error instanceof Error ? error.message : error, task: name }, options.failureMessage ?? `${name} failed; will retry`);
        })
        .then(schedule);
    }, intervalMs * (0.8 + Math.random() * 0.4));
  };
  schedule();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await last;
    },
  };
}
