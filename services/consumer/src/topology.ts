import type { Connection } from 'rabbitmq-client';
import { Topology, type Logger } from '@order-service/shared';
import { pause } from './retry';

/**
 * Broker-side bound on deliveries of one message: after this many failed deliveries the quorum
 * queue dead-letters it by itself. It is a backstop only; the consumer dead-letters earlier, with
 * a reason header (CONSUMER_MAX_ATTEMPTS, the unknown-order grace). A constant, because queue
 * arguments cannot change once the queue exists: redeclaring with another value fails.
 */
export const DELIVERY_LIMIT = 50;

/** The declaration of `order-service.payment-processed`, used at start and on every reconnect. */
export const paymentQueueOptions = {
  queue: Topology.paymentQueue,
  durable: true,
  arguments: {
    'x-queue-type': 'quorum',
    'x-delivery-limit': DELIVERY_LIMIT,
    'x-dead-letter-exchange': Topology.paymentDeadLetterExchange,
    'x-dead-letter-routing-key': Topology.paymentDlq,
    // The broker keeps a dead-lettered message until the DLQ has confirmed it; this strategy
    // requires reject-publish overflow.
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  },
} as const;

/**
 * How long a message waits in the retry queue before the broker hands it back to the payment
 * queue. A queue argument, fixed when the queue is first declared, so a constant like DELIVERY_LIMIT.
 */
export const RETRY_DELAY_MS = 500;

/**
 * `order-service.payment-processed.retry`: a message the consumer parks here (an event for an
 * order not known yet) expires after RETRY_DELAY_MS and is dead-lettered, through the default
 * exchange, straight back into the payment queue (and no other queue bound to `payments`).
 * Waiting in the broker holds no handler: a flood of such events cannot delay valid ones.
 */
export const paymentRetryQueueOptions = {
  queue: Topology.paymentRetryQueue,
  durable: true,
  arguments: {
    'x-queue-type': 'quorum',
    'x-message-ttl': RETRY_DELAY_MS,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': Topology.paymentQueue,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  },
} as const;

/** The declaration of `order-service.payment-processed.dlq`. */
export const paymentDlqOptions = { queue: Topology.paymentDlq, durable: true, arguments: { 'x-queue-type': 'quorum' } } as const;

export const paymentsExchange = { exchange: Topology.paymentsExchange, type: 'topic', durable: true } as const;
export const deadLetterExchange = { exchange: Topology.paymentDeadLetterExchange, type: 'direct', durable: true } as const;
export const paymentBinding = {
  queue: Topology.paymentQueue,
  exchange: Topology.paymentsExchange,
  routingKey: Topology.paymentProcessedKey,
};
export const paymentDlqBinding = {
  queue: Topology.paymentDlq,
  exchange: Topology.paymentDeadLetterExchange,
  routingKey: Topology.paymentDlq,
};

/**
 * Declares the `payments` exchange, the consumer's quorum queue bound to `payment.processed`,
 * its dead-letter exchange and queue, and its retry queue. Idempotent; run at start by every
 * process that publishes or consumes PaymentProcessed, so any start order loses nothing.
 */
export async function declarePaymentTopology(connection: Connection): Promise<void> {
  await connection.exchangeDeclare(deadLetterExchange);
  await connection.queueDeclare(paymentDlqOptions);
  await connection.queueBind(paymentDlqBinding);
  await connection.exchangeDeclare(paymentsExchange);
  await connection.queueDeclare(paymentQueueOptions);
  await connection.queueBind(paymentBinding);
  await connection.queueDeclare(paymentRetryQueueOptions);
}

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
      await pause(Math.min(5_000, 500 * attempt), signal);
    }
  }
  return false;
}
