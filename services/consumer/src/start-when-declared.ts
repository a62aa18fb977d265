import type { Consumer } from 'rabbitmq-client';
import { declareWhenReachable, type Logger } from '@order-service/shared';
import { pause } from './retry';

/** A lazy consumer started once its topology is declared, and how to stop it. */
export interface DeclaredConsumer {
  consumer: Consumer;
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
  const started = declareWhenReachable(declare, {
    logger,
    what: 'exchanges and queues',
    stopped: () => stopping.signal.aborted,
    sleep: (ms) => pause(ms, stopping.signal),
    deadlineMs: 5_000,
    policy: { baseMs: 500, maxMs: 5_000 },
  }).then((declared) => {
    if (declared) consumer.start();
  });
  return {
    consumer,
    async stop() {
      stopping.abort();
      await started;
      await consumer.close();
      await publisher.close();
    },
  };
}
