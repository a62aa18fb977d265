import { ConsumerStatus, type Connection } from 'rabbitmq-client';
import { Counter } from 'prom-client';
import * as v from 'valibot';
import {
  OrderCreated,
  Topology,
  createRegistry,
  createRenewingPublisher,
  declareOrdersExchange,
  declarePaymentTopology,
  paymentEnvelope,
  paymentsExchange,
  simulatorBinding,
  simulatorQueueOptions,
  type Logger,
} from '@order-service/shared';
import { SpanKind, injectTraceHeaders, withSpan } from '@order-service/shared/telemetry';
import { startWhenDeclared } from '../start-when-declared';
import { bodyText } from '../parse-event';
import { pause } from '../retry';
import type { SimulatorConfig } from './config';
import { simulatePayment } from './simulate';

export function createSimulatorMetrics() {
  const registry = createRegistry();
  const published = new Counter({
    name: 'simulator_payments_published_total',
    help: 'PaymentProcessed events published by the simulator, by status',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  return { registry, published };
}

export interface SimulatorDeps {
  connection: Connection;
  logger: Logger;
  metrics: ReturnType<typeof createSimulatorMetrics>;
  config: Pick<SimulatorConfig, 'SIMULATOR_SUCCESS_RATIO' | 'SIMULATOR_DELAY_MS' | 'SIMULATOR_PREFETCH' | 'SIMULATOR_CONCURRENCY'>;
}

/**
 * A stand-in payment provider: for each OrderCreated it waits SIMULATOR_DELAY_MS, then publishes
 * a PaymentProcessed (persistent, confirmed) with the contract's AMQP properties, carrying the
 * order's traceparent on. A demo and test tool; not part of the order service.
 */
export function startSimulator({ connection, logger, metrics, config }: SimulatorDeps) {
  const publisher = createRenewingPublisher(connection, { confirm: true, maxAttempts: 3, exchanges: [paymentsExchange] });
  const stopping = new AbortController();

  const consumer = connection.createConsumer(
    {
      lazy: true,
      queue: Topology.simulatorQueue,
      queueOptions: simulatorQueueOptions,
      queueBindings: [simulatorBinding],
      qos: { prefetchCount: config.SIMULATOR_PREFETCH },
      concurrency: config.SIMULATOR_CONCURRENCY,
    },
    async (msg) => {
      let json: unknown;
      try {
        json = typeof msg.body === 'object' && !Buffer.isBuffer(msg.body) ? msg.body : JSON.parse(bodyText(msg.body));
      } catch {
        json = undefined;
      }
      const parsed = v.safeParse(OrderCreated, json);
      if (!parsed.success) {
        logger.warn({ messageId: msg.messageId }, 'not an OrderCreated event; dropped');
        return ConsumerStatus.DROP;
      }
      await pause(config.SIMULATOR_DELAY_MS, stopping.signal);
      const event = simulatePayment(parsed.output, config.SIMULATOR_SUCCESS_RATIO);
      try {
        // The payment side carries the order's trace on to the PaymentProcessed message.
        await withSpan(
          'payment-simulator process',
          msg.headers,
          (span) =>
            publisher.send({ ...paymentEnvelope(event), headers: injectTraceHeaders({}, span) }, Buffer.from(JSON.stringify(event))),
          { kind: SpanKind.CONSUMER },
        );
      } catch (error) {
        logger.warn({ err: error, orderId: event.data.order_id }, 'publishing the payment failed; will retry');
        await pause(1_000, stopping.signal);
        return ConsumerStatus.REQUEUE;
      }
      metrics.published.inc({ status: event.data.status });
      logger.debug({ orderId: event.data.order_id, status: event.data.status }, 'payment published');
      return ConsumerStatus.ACK;
    },
  );
  consumer.on('error', (error: Error) => logger.warn({ err: error.message }, 'simulator consumer error'));

  // The consumer's queue too: a payment published before the consumer ever ran is kept, not lost.
  const declare = async () => {
    await declareOrdersExchange(connection);
    await declarePaymentTopology(connection);
  };
  return startWhenDeclared(consumer, publisher, declare, logger, stopping);
}
