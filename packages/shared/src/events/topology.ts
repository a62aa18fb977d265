import type { Connection } from 'rabbitmq-client';

/** Exchange, routing key and queue names: the event contract's addresses, in one place. */
export const Topology = {
  ordersExchange: 'orders',
  orderCreatedKey: 'order.created',
  /** Alternate exchange of `orders`: messages no queue is bound for land here, not nowhere. */
  ordersUnroutableExchange: 'orders.unroutable',
  ordersUnroutableQueue: 'orders.unroutable',
  paymentsExchange: 'payments',
  paymentProcessedKey: 'payment.processed',
  paymentQueue: 'order-service.payment-processed',
  paymentDeadLetterExchange: 'order-service.dlx',
  paymentDlq: 'order-service.payment-processed.dlq',
  /** Where an event for an order not known yet waits, in the broker, before it is tried again. */
  paymentRetryQueue: 'order-service.payment-processed.retry',
  /** The payment simulator's own queue of OrderCreated events. */
  simulatorQueue: 'payment-simulator.order-created',
} as const;

/** The CloudEvents `source` of events this service emits. */
export const EVENT_SOURCE = '/order-service/api';

/**
 * Declares the `orders` topic exchange and its alternate exchange: a message published to
 * `orders` that no queue is bound for lands in `orders.unroutable` instead of vanishing.
 * Idempotent; every process that touches `orders` calls it at start.
 */
export async function declareOrdersExchange(connection: Connection): Promise<void> {
  await connection.exchangeDeclare({ exchange: Topology.ordersUnroutableExchange, type: 'fanout', durable: true });
  await connection.queueDeclare({ queue: Topology.ordersUnroutableQueue, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await connection.queueBind({ queue: Topology.ordersUnroutableQueue, exchange: Topology.ordersUnroutableExchange });
  await connection.exchangeDeclare({
    exchange: Topology.ordersExchange,
    type: 'topic',
    durable: true,
    arguments: { 'alternate-exchange': Topology.ordersUnroutableExchange },
  });
}

/**
 * Broker-side bound on deliveries of one message: after this many failed deliveries the quorum
 * queue dead-letters it by itself. It is a backstop only; the consumer dead-letters earlier, with
 * a reason header (CONSUMER_MAX_ATTEMPTS, the unknown-order grace). A constant, because queue
 * arguments cannot change once the queue exists: redeclaring with another value fails.
 */
export const DELIVERY_LIMIT = 50;

/**
 * The arguments of a quorum queue that dead-letters to `exchange` with `routingKey`. The broker
 * keeps a dead-lettered message until its target has confirmed it; this strategy requires
 * reject-publish overflow.
 */
const deadLetteringTo = <E extends string, K extends string>(exchange: E, routingKey: K) =>
  ({
    'x-queue-type': 'quorum',
    'x-dead-letter-exchange': exchange,
    'x-dead-letter-routing-key': routingKey,
    'x-dead-letter-strategy': 'at-least-once',
    'x-overflow': 'reject-publish',
  }) as const;

/** The declaration of `order-service.payment-processed`, used at start and on every reconnect. */
export const paymentQueueOptions = {
  queue: Topology.paymentQueue,
  durable: true,
  arguments: { ...deadLetteringTo(Topology.paymentDeadLetterExchange, Topology.paymentDlq), 'x-delivery-limit': DELIVERY_LIMIT },
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
  arguments: { ...deadLetteringTo('', Topology.paymentQueue), 'x-message-ttl': RETRY_DELAY_MS },
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

/** The declaration of the simulator's queue, and its binding to `orders` / `order.created`. */
export const simulatorQueueOptions = { queue: Topology.simulatorQueue, durable: true, arguments: { 'x-queue-type': 'quorum' } } as const;
export const simulatorBinding = { queue: Topology.simulatorQueue, exchange: Topology.ordersExchange, routingKey: Topology.orderCreatedKey };
