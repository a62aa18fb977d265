import type { Consumer } from 'rabbitmq-client';
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

/** A lazy consumer started once its topology is declared, and how to stop it. */
export interface DeclaredConsumer {
  consumer: Consumer;
  /** Resolves once the topology is declared and the consumer is starting. */
  started: Promise<void>;
  /** Stops taking messages, lets the ones in hand finish, and closes the publisher. */
  stop(): Promise<void>;
}

/**
 * Starts the lazy `consumer` once `declare` has succeeded, so that nothing is consumed before the
 * queues its handler publishes to exist. Stopping aborts `stopping` (a declaration still waiting
 * for the broker, and the handler's pauses), then closes the consumer and, after it, `publisher`.
 */
export function startWhenDeclared(
  consumer: Consumer,
  publisher: { close(): Promise<void> },
  declare: () => Promise<void>,
  logger: Logger,
  stopping: AbortController,
): DeclaredConsumer {
  const started = declareWhenReachable(declare, logger, stopping.signal).then((declared) => {
    if (declared) consumer.start();
  });
  return {
    consumer,
    started,
    async stop() {
      stopping.abort();
      await started;
      await consumer.close();
      await publisher.close();
    },
  };
}
