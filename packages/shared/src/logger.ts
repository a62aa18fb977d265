import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON logs on stdout, one logger per process, named for the process. */
export function createLogger(name: string, level: string): Logger {
  return pino({ name, level, base: { service: name }, timestamp: pino.stdTimeFunctions.isoTime });
}
