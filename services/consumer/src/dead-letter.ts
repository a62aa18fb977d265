import type { AsyncMessage, Connection } from 'rabbitmq-client';
import { Topology, carriedProperties } from '@order-service/shared';
import { bodyBytes } from './parse-event';
import { deadLetterExchange } from './topology';

/** Why a message was dead-lettered, as a stable code for tooling (the reason header is prose). */
export type DeadLetterCode = 'invalid-message' | 'unknown-order' | 'max-attempts';

export interface DeadLetterer {
  send(msg: AsyncMessage, code: DeadLetterCode, reason: string, attempt: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Publishes a message the consumer gives up on to `order-service.payment-processed.dlq`, unchanged
 * (body and properties), with why in headers. Broker-side dead-lettering cannot add a reason,
 * so the consumer publishes itself and acks the original only once the broker confirmed the copy:
 * nothing is lost between the two queues (at worst the DLQ holds a duplicate).
 */
export function createDeadLetterer(connection: Connection): DeadLetterer {
  const publisher = connection.createPublisher({
    confirm: true,
    maxAttempts: 3,
    // Declared before the first publish and again after every reconnect.
    exchanges: [deadLetterExchange],
    queues: [{ queue: Topology.paymentDlq, durable: true, arguments: { 'x-queue-type': 'quorum' } }],
    queueBindings: [{ queue: Topology.paymentDlq, exchange: Topology.paymentDeadLetterExchange, routingKey: Topology.paymentDlq }],
  });
  return {
    async send(msg, code, reason, attempt) {
      // x-delivery-count belongs to the queue the message leaves; carried along, it would be
      // mistaken for a count of the next queue (e.g. when an operator redrives the message).
      const { 'x-delivery-count': _count, ...headers } = msg.headers ?? {};
      await publisher.send(
        {
          exchange: Topology.paymentDeadLetterExchange,
          routingKey: Topology.paymentDlq,
          durable: true,
          ...carriedProperties(msg),
          headers: {
            ...headers,
            'x-dead-letter-reason': reason.slice(0, 1_000),
            'x-dead-letter-code': code,
            'x-dead-letter-attempts': attempt,
            'x-dead-lettered-at': new Date().toISOString(),
            'x-original-exchange': msg.exchange,
            'x-original-routing-key': msg.routingKey,
            'x-original-queue': Topology.paymentQueue,
          },
        },
        bodyBytes(msg.body),
      );
    },
    close: () => publisher.close(),
  };
}
