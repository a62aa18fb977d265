import type { AsyncMessage, Connection, Envelope, Publisher } from 'rabbitmq-client';
import { progress } from './progress';

/** A queue the bench owns, bound to an exchange, to give published events a destination and to watch them. */
export interface BenchQueue {
  name: string;
  purge(): Promise<void>;
  /** Messages ready in the queue (from a passive declare). */
  depth(): Promise<number>;
  delete(): Promise<void>;
}

/** How a bench queue is declared: `quorum` like the services' own queues, `light` for a hint only. */
const QUEUE_OPTIONS = {
  // The kind of queue the services use, so confirms cost what they cost in production (a quorum
  // queue confirms after its log write).
  quorum: { durable: true, arguments: { 'x-queue-type': 'quorum' } },
  // A transient classic queue: the cheapest destination, for a queue that only gives the bench a hint.
  light: { durable: false, arguments: {} },
} as const;
export type BenchQueueKind = keyof typeof QUEUE_OPTIONS;

/** Declares a queue of the bench's own, bound to `exchange`/`routingKey`. */
export async function declareBenchQueue(
  connection: Connection,
  name: string,
  exchange: string,
  routingKey: string,
  kind: BenchQueueKind = 'quorum',
): Promise<BenchQueue> {
  await connection.queueDeclare({ queue: name, ...QUEUE_OPTIONS[kind] });
  await connection.queueBind({ queue: name, exchange, routingKey });
  return {
    name,
    async purge() {
      const channel = await connection.acquire();
      try {
        await channel.queuePurge(name);
      } finally {
        await channel.close();
      }
    },
    async depth() {
      const { messageCount } = await connection.queueDeclare({ queue: name, passive: true });
      return messageCount;
    },
    async delete() {
      await connection.queueDelete({ queue: name });
    },
  };
}

/**
 * Publishes `count` messages with confirms, keeping at most `window` unconfirmed at any moment
 * (a sliding window: a new publish starts as soon as any confirm arrives). Resolves with the
 * elapsed seconds.
 */
export async function publishWindowed(
  publisher: Publisher,
  count: number,
  window: number,
  message: (index: number) => { envelope: Envelope; body: Buffer },
): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const { envelope, body } = message(next++);
      await publisher.send(envelope, body);
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  return (performance.now() - started) / 1000;
}

/** Consumes a bench queue, calling `onMessage` with the receive time of each message (auto-ack). */
export function consumeQueue(
  connection: Connection,
  queue: string,
  onMessage: (message: AsyncMessage, receivedAt: number) => void,
  kind: BenchQueueKind = 'quorum',
) {
  const consumer = connection.createConsumer(
    // The same declaration as declareBenchQueue's: a consumer redeclares its queue on (re)connect.
    { queue, queueOptions: QUEUE_OPTIONS[kind], qos: { prefetchCount: 1_000 } },
    (message) => {
      onMessage(message, Date.now());
    },
  );
  consumer.on('error', (error: Error) => progress(`audit consumer of ${queue}: ${error.message}`));
  return { close: () => consumer.close() };
}

/** The text of a message body (rabbitmq-client decodes JSON bodies only when labelled so). */
export function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString();
  return typeof body === 'string' ? body : JSON.stringify(body);
}
