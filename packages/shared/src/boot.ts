import type * as v from 'valibot';
import { loadConfig } from './config';
import { createLogger, type Logger } from './logger';
import { exitOnStartupError, onShutdown } from './shutdown';
import { startTelemetry } from './telemetry';

/** How a process is named: `name` on its log lines, `service` in its traces. */
export interface ProcessNames {
  name: string;
  service: string;
}

/** What a process's start is handed: its settings, read once, and its logger. */
export interface Booted<TConfig> {
  config: TConfig;
  logger: Logger;
}

/** Stops what a start started: intake first, then the clients they use (see onShutdown). */
export type StopProcess = () => Promise<void>;

/**
 * Starts a process the one way every process starts (imported from `@order-service/shared/boot`,
 * so that only a process's main loads telemetry). It reads the settings from the environment once,
 * exiting 1 with every bad variable named; makes the logger; starts telemetry before anything
 * else runs, so the first spans are recorded; then runs `start`. A start that throws exits 1 with
 * a log line. On SIGTERM or SIGINT (even during the start, which is then waited for) the stop that
 * `start` returned runs, and telemetry is flushed last, so the spans of the shutdown are exported too.
 */
export async function boot<const TSchema extends v.GenericSchema<Record<string, unknown>, { LOG_LEVEL: string }>>(
  env: TSchema,
  names: ProcessNames,
  start: (booted: Booted<Readonly<v.InferOutput<TSchema>>>) => Promise<StopProcess>,
): Promise<void> {
  let config;
  try {
    config = loadConfig(env, process.env);
  } catch (error) {
    exitOnStartupError(undefined, error);
  }
  const logger = createLogger(names.name, config.LOG_LEVEL);
  const telemetry = await startTelemetry(names.service);
  const started = start({ config, logger });
  // Installed before the start finishes: a start logs "listening" (which supervisors and tests
  // wait for) before it returns, and a SIGTERM right after must still stop the process in order,
  // once the start is done, instead of killing it by the default action.
  onShutdown(logger, async () => {
    const stop = await started;
    await stop();
    await telemetry.shutdown();
  });
  try {
    await started;
  } catch (error) {
    exitOnStartupError(logger, error);
  }
}
