import { ConsumerStatus, type AsyncMessage, type Connection, type Consumer } from 'rabbitmq-client';
import { Topology, type Db, type Logger, type PaymentProcessed } from '@order-service/shared';
import { SpanKind, traceFields, withSpan, type Span } from '@order-service/shared/telemetry';
import { createApplyBatcher } from './apply-batcher';
import type { ApplyResult } from './apply-payment';
import type { CacheInvalidator } from './cache-invalidator';
import type { ConsumerConfig } from './config';
import { createDeadLetterer, type DeadLetterCode } from './dead-letter';
import type { ConsumerMetrics } from './metrics';
import { parsePaymentEvent } from './parse-event';
import { backoffMs, createFirstSeen, deliveryAttempt, pause, unknownOrderDelayMs } from './retry';
import {
  DELIVERY_LIMIT,
  declarePaymentTopology,
  declareWhenReachable,
  paymentBinding,
  paymentQueueOptions,
  paymentsExchange,
} from './topology';

export interface PaymentConsumerDeps {
  connection: Connection;
  db: Db;
  cache: CacheInvalidator;
  logger: Logger;
  metrics: ConsumerMetrics;
  config: Pick<
    ConsumerConfig,
    | 'CONSUMER_PREFETCH'
    | 'CONSUMER_CONCURRENCY'
    | 'CONSUMER_MAX_ATTEMPTS'
    | 'CONSUMER_RETRY_DELAY_MS'
    | 'CONSUMER_RETRY_MAX_DELAY_MS'
    | 'CONSUMER_UNKNOWN_ORDER_GRACE_MS'
    | 'CONSUMER_BATCH_SIZE'
  >;
  /** Runs after an event's transaction committed and before its ack (the test-only crash hook). */
  afterCommit?: (result: ApplyResult) => void;
}

export interface PaymentConsumer {
  consumer: Consumer;
  /** Resolves once the topology is declared and the consumer is starting. */
  started: Promise<void>;
  /** Stops taking messages, lets the ones in hand finish, and closes the DLQ publisher. */
  stop(): Promise<void>;
}

/**
 * Consumes PaymentProcessed from `order-service.payment-processed`. Every delivery ends in one of:
 * ack (applied, duplicate, ignored, or dead-lettered with a reason), or requeue after a back-off
 * (a transient failure, or an order not known yet), bounded by CONSUMER_MAX_ATTEMPTS and the grace
 * period so that nothing loops forever; the queue's delivery limit is the broker-side backstop.
 */
export function startPaymentConsumer(deps: PaymentConsumerDeps): PaymentConsumer {
  const { connection, db, cache, logger, metrics, config } = deps;
  const deadLetterer = createDeadLetterer(connection);
  const apply = createApplyBatcher(db, config.CONSUMER_BATCH_SIZE);
  const stopping = new AbortController();
  const firstSeen = createFirstSeen();

  async function deadLetter(msg: AsyncMessage, attempt: number, code: DeadLetterCode, reason: string) {
    await deadLetterer.send(msg, code, reason, attempt);
    metrics.events.inc({ outcome: 'dead_lettered' });
    logger.warn({ messageId: msg.messageId, code, reason, attempt }, 'message dead-lettered');
    return ConsumerStatus.ACK;
  }

  async function retryLater(msg: AsyncMessage, attempt: number, delayMs: number, why: string) {
    metrics.events.inc({ outcome: 'retried' });
    logger.debug({ messageId: msg.messageId, attempt, delayMs, why }, 'message requeued');
    // Waiting here, before the nack, keeps a requeued message from coming straight back.
    await pause(delayMs, stopping.signal);
    return ConsumerStatus.REQUEUE;
  }

  async function unknownOrder(msg: AsyncMessage, attempt: number, event: PaymentProcessed) {
    const age = firstSeen.age(event);
    if (age < config.CONSUMER_UNKNOWN_ORDER_GRACE_MS && attempt < DELIVERY_LIMIT - 1) {
      return retryLater(msg, attempt, unknownOrderDelayMs(config.CONSUMER_UNKNOWN_ORDER_GRACE_MS), 'unknown order');
    }
    firstSeen.forget(event.id);
    return deadLetter(msg, attempt, 'unknown-order', `unknown order ${event.data.order_id} (still unknown after ${age} ms)`);
  }

  async function handle(msg: AsyncMessage, span: Span): Promise<ConsumerStatus> {
    const attempt = deliveryAttempt(msg);
    const parsed = parsePaymentEvent(msg.body);
    if (!parsed.ok) return deadLetter(msg, attempt, 'invalid-message', parsed.reason);
    const event = parsed.event;

    let result: ApplyResult;
    try {
      result = await apply(event);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      if (attempt >= config.CONSUMER_MAX_ATTEMPTS) {
        return deadLetter(msg, attempt, 'max-attempts', `gave up after ${attempt} attempts; last error: ${message}`);
      }
      logger.warn({ eventId: event.id, attempt, err: message }, 'applying payment failed; will retry');
      return retryLater(msg, attempt, backoffMs(attempt, config.CONSUMER_RETRY_DELAY_MS, config.CONSUMER_RETRY_MAX_DELAY_MS), message);
    }

    if (result.outcome === 'unknown-order') return unknownOrder(msg, attempt, event);
    firstSeen.forget(event.id);
    if (result.outcome === 'applied' || result.outcome === 'ignored') deps.afterCommit?.(result);
    const log = { eventId: event.id, orderId: event.data.order_id, status: event.data.status };
    switch (result.outcome) {
      case 'applied':
        await cache.invalidate(event.data.order_id, result.version);
        metrics.orderToApplied.observe(Math.max(0, Date.now() - result.orderCreatedAt.getTime()) / 1_000);
        metrics.events.inc({ outcome: 'applied' });
        logger.info({ ...log, ...traceFields(span) }, 'payment applied');
        break;
      case 'duplicate':
        // The first delivery may have died between its commit and its cache write: do it again.
        await cache.invalidate(event.data.order_id, result.version);
        metrics.events.inc({ outcome: 'duplicate' });
        logger.debug(log, 'duplicate event skipped');
        break;
      case 'ignored':
        metrics.events.inc({ outcome: 'ignored' });
        logger.info({ ...log, orderStatus: result.status }, 'payment result for an order no longer PENDING ignored');
        break;
    }
    return ConsumerStatus.ACK;
  }

  const consumer = connection.createConsumer(
    {
      // Started below, once the DLQ exists: nothing is consumed that could not be dead-lettered.
      lazy: true,
      queue: Topology.paymentQueue,
      // Redeclared on every reconnect, so a deleted queue or binding comes back by itself.
      queueOptions: paymentQueueOptions,
      exchanges: [paymentsExchange],
      queueBindings: [paymentBinding],
      qos: { prefetchCount: config.CONSUMER_PREFETCH },
      concurrency: config.CONSUMER_CONCURRENCY,
    },
    async (msg) => {
      const stopTimer = metrics.handleDuration.startTimer();
      try {
        // Continues the trace the order's POST started (carried by relay and payment side).
        return await withSpan(`${Topology.paymentQueue} process`, msg.headers, (span) => handle(msg, span), {
          kind: SpanKind.CONSUMER,
          attributes: { 'messaging.system': 'rabbitmq', 'messaging.message.id': msg.messageId ?? '' },
        });
      } catch (error) {
        // Only the DLQ publish gets here (everything else is handled above): requeue after a
        // pause; the queue's delivery limit bounds this too.
        logger.error({ err: error, messageId: msg.messageId }, 'dead-lettering failed; will retry');
        return retryLater(msg, deliveryAttempt(msg), config.CONSUMER_RETRY_MAX_DELAY_MS, 'dead-letter publish failed');
      } finally {
        stopTimer();
      }
    },
  );
  consumer.on('error', (error: Error) => logger.warn({ err: error.message }, 'payment consumer error'));

  const started = declareWhenReachable(() => declarePaymentTopology(connection), logger, stopping.signal).then((declared) => {
    if (declared) consumer.start();
  });

  return {
    consumer,
    started,
    async stop() {
      stopping.abort();
      await started;
      await consumer.close();
      await deadLetterer.close();
    },
  };
}
