import { Connection, type HeaderFields } from 'rabbitmq-client';
import { Topology } from './events/topology';
import type { Logger } from './logger';

/**
 * A rabbitmq-client connection that reconnects by itself (with backoff up to `retryHigh`),
 * named so operators can tell processes apart in the management UI.
 */
export function createAmqpConnection(url: string, name: string, logger: Logger): Connection {
  // noDelay: on a connection that both consumes and publishes, Nagle's algorithm and the broker's
  // delayed ACK otherwise hold each small publish back by ~40 ms.
  const connection = new Connection({ url, connectionName: name, retryLow: 100, retryHigh: 2_000, heartbeat: 10, noDelay: true });
  connection.on('error', (error) => logger.warn({ err: error.message }, 'rabbitmq connection error'));
  connection.on('connection', () => logger.info('rabbitmq connected'));
  return connection;
}

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

/** The AMQP properties a message keeps when it is moved to another queue (dead-lettered or redriven). */
export function carriedProperties(msg: HeaderFields) {
  return {
    contentType: msg.contentType,
    contentEncoding: msg.contentEncoding,
    messageId: msg.messageId,
    correlationId: msg.correlationId,
    timestamp: msg.timestamp,
    type: msg.type,
    appId: msg.appId,
  };
}
