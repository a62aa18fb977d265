import type { AsyncMessage, Connection } from 'rabbitmq-client';
import {
  BROKER_PATH_HEADERS,
  DeadLetterHeader,
  Topology,
  carriedProperties,
  createRenewingPublisher,
  deadLetterExchange,
  paymentDlqBinding,
  paymentDlqOptions,
  paymentRetryQueueOptions,
  type Clock,
  type DeadLetterCode,
} from '@order-service/shared';

/** When the consumer first saw an event for an order it did not know (ms since the epoch), carried across retries. */
export const FIRST_SEEN_HEADER = 'x-order-service-first-seen';

/**
 * Headers the broker (or this consumer) sets about a message's path through one queue. A copy
 * moved to another queue leaves them behind: carried along, they would be mistaken for facts of
 * the next queue (a delivery count, say, when an operator redrives the message).
 */
const PATH_HEADERS = new Set([
  ...BROKER_PATH_HEADERS,
  DeadLetterHeader.originalExchange,
  DeadLetterHeader.originalRoutingKey,
  FIRST_SEEN_HEADER,
]);

export interface Republisher {
  /** Moves the message, with its original bytes and properties, to the DLQ, with why in headers. */
  deadLetter(msg: AsyncMessage, dead: { code: DeadLetterCode; reason: string; attempt: number; keepHeaders: boolean }): Promise<void>;
  /** Parks the message in the retry queue: the broker hands it back to the payment queue in RETRY_DELAY_MS. */
  retryLater(msg: AsyncMessage, firstSeenAt: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Moves messages the consumer cannot apply now to another queue: the DLQ (never applicable)
 * or the retry queue (not yet). Broker-side dead-lettering cannot add a reason, so the consumer
 * publishes the copy itself and acks the original only once the broker confirmed the copy:
 * nothing is lost between the two queues (at worst the target holds a duplicate, which the inbox
 * absorbs). Every copy keeps the body exactly as it arrived.
 */
export function createRepublisher(connection: Connection, clock: Clock): Republisher {
  const publisher = createRenewingPublisher(connection, {
    confirm: true,
    maxAttempts: 3,
    // Declared before the first publish and again after every reconnect.
    exchanges: [deadLetterExchange],
    queues: [paymentDlqOptions, paymentRetryQueueOptions],
    queueBindings: [paymentDlqBinding],
  });

  function ownHeaders(msg: AsyncMessage): Record<string, unknown> {
    return Object.fromEntries(Object.entries(msg.headers ?? {}).filter(([name]) => !PATH_HEADERS.has(name)));
  }

  /** Where the message was first published: a message back from the retry queue came through the default exchange. */
  function origin(msg: AsyncMessage) {
    const carried = msg.exchange === '' && msg.headers?.[FIRST_SEEN_HEADER] !== undefined;
    return {
      [DeadLetterHeader.originalExchange]: carried ? msg.headers?.[DeadLetterHeader.originalExchange] : msg.exchange,
      [DeadLetterHeader.originalRoutingKey]: carried ? msg.headers?.[DeadLetterHeader.originalRoutingKey] : msg.routingKey,
    };
  }

  return {
    async deadLetter(msg, { code, reason, attempt, keepHeaders }) {
      const original = ownHeaders(msg);
      await publisher.send(
        {
          exchange: Topology.paymentDeadLetterExchange,
          routingKey: Topology.paymentDlq,
          durable: true,
          ...carriedProperties(msg),
          headers: {
            // Headers over the budget are left out, so that the copy always fits a frame.
            ...(keepHeaders ? original : { [DeadLetterHeader.droppedHeaders]: Object.keys(original).length }),
            [DeadLetterHeader.reason]: reason.slice(0, 1_000),
            [DeadLetterHeader.code]: code,
            [DeadLetterHeader.attempts]: attempt,
            [DeadLetterHeader.deadLetteredAt]: new Date(clock.now()).toISOString(),
            ...origin(msg),
            [DeadLetterHeader.originalQueue]: Topology.paymentQueue,
          },
        },
        msg.body as Buffer,
      );
    },
    async retryLater(msg, firstSeenAt) {
      await publisher.send(
        {
          // The default exchange routes by queue name: to the retry queue and nowhere else.
          exchange: '',
          routingKey: Topology.paymentRetryQueue,
          durable: true,
          ...carriedProperties(msg),
          headers: { ...ownHeaders(msg), ...origin(msg), [FIRST_SEEN_HEADER]: firstSeenAt },
        },
        msg.body as Buffer,
      );
    },
    close: () => publisher.close(),
  };
}
