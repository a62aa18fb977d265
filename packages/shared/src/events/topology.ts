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
} as const;

/** The CloudEvents `source` of events this service emits. */
export const EVENT_SOURCE = '/order-service/api';
