import { Connection, type ConnectionOptions, type HeaderFields } from 'rabbitmq-client';
import { splitList } from './config';
import type { Logger } from './logger';

/**
 * The options every connection of this service's processes (and of tests standing in for them) uses.
 * - rawBody (added by patches/rabbitmq-client*.patch): a consumer gets the bytes that arrived, never a
 *   body the client decoded by content type. Size, encoding and JSON are checked by the consumer
 *   itself, and a message moved elsewhere (DLQ, retry, redrive) keeps its original bytes.
 * - frameMax: the broker's default frame_max (128 KiB), so a message whose headers fit the broker's
 *   frame can also be republished (the client's default, 8 KiB, refused a header frame larger than that).
 * - noDelay: on a connection that both consumes and publishes, Nagle's algorithm and the broker's
 *   delayed ACK otherwise hold each small publish back by ~40 ms.
 */
export const AMQP_CLIENT_OPTIONS = { rawBody: true, frameMax: 131_072, noDelay: true } as const;

/**
 * The connection options for one broker or the nodes of one cluster (`RABBITMQ_URL` as parsed by
 * the config, or its comma-separated text), merged with AMQP_CLIENT_OPTIONS. Credentials, vhost
 * and options come from the first URL (the config checked that all agree); with several nodes the
 * client gets them as `hosts`, connects to the first that answers and, when its node goes away,
 * reconnects to the next one by itself. A single URL is passed on exactly as before.
 */
export function amqpConnectionOptions(urls: string | readonly string[]): ConnectionOptions {
  const list = typeof urls === 'string' ? splitList(urls) : urls;
  const [first] = list;
  if (first === undefined) throw new Error('no RabbitMQ URL given');
  if (list.length === 1) return { ...AMQP_CLIENT_OPTIONS, url: first };
  const hosts = list.map((entry) => {
    const url = new URL(entry);
    return `${url.hostname}:${url.port || (url.protocol === 'amqps:' ? '5671' : '5672')}`;
  });
  return { ...AMQP_CLIENT_OPTIONS, url: first, hosts };
}

/**
 * A rabbitmq-client connection that reconnects by itself (with backoff up to `retryHigh`, to the
 * next node of the list when there are several), named so operators can tell processes apart in
 * the management UI.
 */
export function createAmqpConnection(urls: string | readonly string[], name: string, logger: Logger): Connection {
  const connection = new Connection({ ...amqpConnectionOptions(urls), connectionName: name, retryLow: 100, retryHigh: 2_000, heartbeat: 10 });
  connection.on('error', (error) => logger.warn({ err: error.message }, 'rabbitmq connection error'));
  connection.on('connection', () => logger.info('rabbitmq connected'));
  return connection;
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
