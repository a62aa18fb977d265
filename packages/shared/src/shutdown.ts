import type { Logger } from './logger';

/**
 * Runs `stop` once on SIGTERM or SIGINT, then exits 0 (1 if stopping failed). A second signal,
 * or a stop that takes longer than `graceMs`, exits at once so an orchestrator is never stuck.
 */
export function onShutdown(logger: Logger, stop: () => Promise<void>, graceMs = 25_000): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal, exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    setTimeout(() => {
      logger.error('shutdown took too long, exiting');
      process.exit(1);
    }, graceMs).unref();
    stop().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}

/** Logs a failed start-up (e.g. a ConfigError) and exits 1 without a stack trace for config errors. */
export function exitOnStartupError(logger: Logger | undefined, error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  if (logger) logger.fatal({ err: error }, 'failed to start');
  else process.stderr.write(`${message}\n`);
  process.exit(1);
}
