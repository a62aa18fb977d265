import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Connection, type AsyncMessage, type Envelope } from 'rabbitmq-client';
import {
  AMQP_CLIENT_OPTIONS,
  Topology,
  createDb,
  createLogger,
  createRedis,
  loadConfig,
  systemClock,
  type Db,
  type PaymentProcessed,
  type RedisClient,
} from '@order-service/shared';
import { createApp } from '@order-service/api/app';
import { ApiEnv } from '@order-service/api/config';
import { startService, type ServiceProcess, type TestDatabase, type TestVhost } from '@order-service/testkit';
import { createCacheWriter } from '../src/cache-writer';
import { ConsumerEnv, type ConsumerConfig } from '../src/config';
export { paymentEvent } from './fixtures';
import { startPaymentConsumer } from '../src/consumer';
import { createConsumerMetrics, type ConsumerMetrics, type EventOutcome } from '../src/metrics';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
export const quietLogger = createLogger('consumer-test', process.env.TEST_LOG_LEVEL ?? 'silent');

/** The four processes an order passes through, by name, as `startOrderPath` starts them. */
export type OrderPath = Record<'api' | 'relay' | 'simulator' | 'consumer', ServiceProcess>;

/**
 * Starts api, relay, payment simulator and consumer as child processes, as an operator runs them,
 * against `database` and `vhost`; payments always succeed, at once. `env` adds or overrides settings.
 */
export async function startOrderPath(database: TestDatabase, vhost: TestVhost, env: Record<string, string> = {}): Promise<OrderPath> {
  const settings = {
    DATABASE_URL: database.url,
    RABBITMQ_URL: vhost.url,
    REDIS_URL,
    PORT: '0',
    API_RATE_LIMIT_ENABLED: 'false',
    SIMULATOR_SUCCESS_RATIO: '1',
    SIMULATOR_DELAY_MS: '0',
    ...env,
  };
  // Started together, in no particular order: each declares what it uses.
  const [api, relay, simulator, consumer] = await Promise.all(
    ['services/api/src/main.ts', 'services/relay/src/main.ts', 'services/consumer/src/simulator/main.ts', 'services/consumer/src/main.ts'].map(
      (entry) => startService(entry, settings, { timeoutMs: 60_000 }),
    ),
  );
  return { api: api!, relay: relay!, simulator: simulator!, consumer: consumer! };
}

/** A confirming publisher to `payments` / `payment.processed`. Close it before its connection. */
export function paymentPublisher(connection: Connection) {
  const publisher = connection.createPublisher({ confirm: true });
  return {
    /** Publishes `body` (an event, text or bytes) with the contract's properties, overridable. */
    send(body: unknown, envelope: Partial<Envelope> = {}) {
      const event = body as Partial<PaymentProcessed>;
      return publisher.send(
        {
          exchange: Topology.paymentsExchange,
          routingKey: Topology.paymentProcessedKey,
          durable: true,
          contentType: 'application/json',
          messageId: typeof event?.id === 'string' ? event.id : undefined,
          ...envelope,
        },
        Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
      );
    },
    close: () => publisher.close(),
  };
}

/** Inserts a PENDING order directly (items are not needed to pay for it). */
export async function insertOrder(db: Db, orderId = randomUUID()): Promise<string> {
  await db
    .insertInto('orders')
    .values({ order_id: orderId, customer_id: randomUUID(), shipping_address: '1 Test Street', total_amount: '12.50' })
    .execute();
  return orderId;
}

/** Drains the DLQ: every message currently in it. */
export async function drainDlq(connection: Connection): Promise<AsyncMessage[]> {
  const messages = [];
  for (;;) {
    const msg = await connection.basicGet({ queue: Topology.paymentDlq, noAck: true });
    if (!msg) return messages;
    messages.push(msg as unknown as AsyncMessage);
  }
}

export async function counter(metrics: ConsumerMetrics, outcome: EventOutcome): Promise<number> {
  return (await metrics.events.get()).values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

/** The consumer, in process, with its own connections, as main.ts wires it. */
export async function startTestConsumer(
  { databaseUrl, rabbitUrl, name = 'consumer-test' }: { databaseUrl: string; rabbitUrl: string; name?: string },
  overrides: Partial<Record<keyof ConsumerConfig, string>> = {},
) {
  const config = loadConfig(ConsumerEnv, {
    CONSUMER_RETRY_DELAY_MS: '20',
    CONSUMER_RETRY_MAX_DELAY_MS: '100',
    CONSUMER_MAX_ATTEMPTS: '3',
    CONSUMER_UNKNOWN_ORDER_GRACE_MS: '2000',
    ...overrides,
  });
  const db = createDb(databaseUrl, { max: config.DB_POOL_MAX, applicationName: name, onIdleError: () => {} });
  const redis = createRedis(REDIS_URL, quietLogger);
  const connection = new Connection({ ...AMQP_CLIENT_OPTIONS, url: rabbitUrl, connectionName: name, retryLow: 50, retryHigh: 500 });
  connection.on('error', () => {});
  const metrics = createConsumerMetrics();
  const cache = createCacheWriter(redis, quietLogger, systemClock, config.CONSUMER_CACHE_TTL_SECONDS);
  await new Promise<void>((resolve) => (redis.isReady ? resolve() : redis.once('ready', () => resolve())));
  const payments = startPaymentConsumer({ connection, db, cache, logger: quietLogger, metrics, clock: systemClock, config });
  await new Promise<void>((resolve) => payments.consumer.once('ready', () => resolve()));
  return {
    db,
    metrics,
    connection,
    count: (outcome: EventOutcome) => counter(metrics, outcome),
    async stop() {
      await payments.stop();
      await cache.close();
      await connection.close();
      await Promise.allSettled([db.destroy(), redis.close()]);
    },
  };
}

/** The real API app, listening on a free port, for reads through its Redis cache. */
export async function startApi(databaseUrl: string) {
  const config = loadConfig(ApiEnv, { API_RATE_LIMIT_ENABLED: 'false' });
  const db = createDb(databaseUrl, { max: 5, applicationName: 'api-test' });
  const redis: RedisClient = createRedis(REDIS_URL, quietLogger);
  await new Promise<void>((resolve) => (redis.isReady ? resolve() : redis.once('ready', () => resolve())));
  const app = createApp({ db, redis, logger: quietLogger, config });
  const server: Server = await new Promise((resolve) => {
    const listening = app.listen(0, () => resolve(listening));
  });
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    redis: redis as RedisClient,
    async getOrder(orderId: string) {
      const res = await fetch(`${base}/api/orders/${orderId}`);
      return { status: res.status, body: (await res.json()) as { status: string; updated_at: string } };
    },
    async placeOrder() {
      const res = await fetch(`${base}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          customer_id: randomUUID(),
          items: [{ product_id: '33333333-3333-4333-8333-333333333333', quantity: 1 }],
          shipping_address: '1 Test Street',
        }),
      });
      if (res.status !== 201) throw new Error(`POST /api/orders gave ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { order_id: string }).order_id;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await Promise.allSettled([db.destroy(), redis.close()]);
    },
  };
}

