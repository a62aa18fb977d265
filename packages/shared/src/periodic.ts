import type { Logger } from './logger';

/**
 * Runs `task` every `intervalMs` until `stop()`, never two runs at once. Each wait is jittered by
 * ±20 % so replicas spread out; a failed run is logged and simply tried again next time.
 */
export function startPeriodic(name: string, intervalMs: number, task: () => Promise<void>, logger: Logger): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = task().catch((error: unknown) => {
        logger.warn({ err: error instanceof Error ? error.message : error, task: name }, `${name} failed; will retry`);
      });
      void running.then(schedule);
    }, intervalMs * (0.8 + Math.random() * 0.4));
  };
  schedule();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
