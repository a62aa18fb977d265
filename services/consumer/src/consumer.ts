import { ConsumerStatus, type AsyncMessage, type Connection } from 'rabbitmq-client';
import {
  Topology,
  backoff,
  declarePaymentTopology,
  orderJson,
  paymentBinding,
  paymentQueueOptions,
  paymentsExchange,
  type Clock,
  type DeadLetterCode,
  type Db,
  type Logger,
  type PaymentProcessed,
} from '@order-service/shared';
import { SpanKind, traceFields, withSpan, type Span } from '@order-service/shared/telemetry';
import { createApplyBatcher } from './apply-batcher';
import type { ApplyResult } from './apply-payment';
import type { CacheWriter } from './cache-writer';
import type { ConsumerConfig } from './config';
import { startWhenDeclared, type DeclaredConsumer } from './start-when-declared';
import type { ConsumerMetrics } from './metrics';
import { parsePaymentEvent, type MessageLimits } from './parse-event';
import { FIRST_SEEN_HEADER, createRepublisher } from './republish';
import { deliveryAttempt, firstSeenAt, pause } from './retry';

export interface PaymentConsumerDeps {
  connection: Connection;
  db: Db;
  cache: CacheWriter;
  logger: Logger;
  metrics: ConsumerMetrics;
  /** For grace periods, first sightings, dead-letter stamps and the order-to-applied age. */
  clock: Clock;
  config: Pick<
    ConsumerConfig,
    | 'CONSUMER_PREFETCH'
    | 'CONSUMER_CONCURRENCY'
    | 'CONSUMER_MAX_ATTEMPTS'
    | 'CONSUMER_RETRY_DELAY_MS'
    | 'CONSUMER_RETRY_MAX_DELAY_MS'
    | 'CONSUMER_UNKNOWN_ORDER_GRACE_MS'
    | 'CONSUMER_BATCH_SIZE'
    | 'CONSUMER_BATCH_WAIT_MS'
    | 'CONSUMER_MAX_BODY_BYTES'
    | 'CONSUMER_MAX_HEADER_BYTES'
  >;
  /** Runs after an event's transaction committed and before its ack (the test-only crash hook). */
  afterCommit?: (result: ApplyResult) => void;
}

/** The payment consumer; its publisher is the one that dead-letters and parks in the retry queue. */
export type PaymentConsumer = DeclaredConsumer;

/**
 * Consumes PaymentProcessed from `order-service.payment-processed`. Every delivery ends in one of:
 * ack (applied, duplicate, ignored, dead-lettered with a reason, or moved to the retry queue
 * because its order is not known yet, within the grace period), or requeue after a back-off
 * (a transient failure), bounded by CONSUMER_MAX_ATTEMPTS so that nothing loops forever; the
 * queue's delivery limit is the broker-side backstop.
 */
export function startPaymentConsumer(deps: PaymentConsumerDeps): PaymentConsumer {
  const { connection, db, cache, logger, metrics, clock, config } = deps;
  const republisher = createRepublisher(connection, clock);
  // A batch cannot grow past the messages handled at once: one that size goes without waiting.
  const apply = createApplyBatcher(db, {
    maxBatch: Math.min(config.CONSUMER_BATCH_SIZE, config.CONSUMER_CONCURRENCY),
    waitMs: config.CONSUMER_BATCH_WAIT_MS,
  });
  const stopping = new AbortController();
  const limits: MessageLimits = { maxBodyBytes: config.CONSUMER_MAX_BODY_BYTES, maxHeaderBytes: config.CONSUMER_MAX_HEADER_BYTES };

  async function deadLetter(msg: AsyncMessage, attempt: number, code: DeadLetterCode, reason: string) {
    await republisher.deadLetter(msg, { code, reason, attempt, keepHeaders: code !== 'headers-too-large' });
    metrics.events.inc({ outcome: 'dead_lettered' });
    metrics.deadLetters.inc({ code });
    logger.warn({ messageId: msg.messageId?.slice(0, 100), code, reason: reason.slice(0, 300), attempt }, 'message dead-lettered');
    return ConsumerStatus.ACK;
  }

  async function retryLater(msg: AsyncMessage, attempt: number, delayMs: number, why: string) {
    metrics.events.inc({ outcome: 'retried' });
    logger.debug({ messageId: msg.messageId, attempt, delayMs, why }, 'message requeued');
    // Waiting here, before the nack, keeps a requeued message from coming straight back.
    await pause(delayMs, stopping.signal);
    return ConsumerStatus.REQUEUE;
  }

  /** An order not known yet may still be on its way: the event waits in the broker's retry queue, holding no handler. */
  async function unknownOrder(msg: AsyncMessage, attempt: number, event: PaymentProcessed) {
    const now = clock.now();
    const firstSeen = firstSeenAt(event, msg.headers?.[FIRST_SEEN_HEADER], now);
    if (now - firstSeen < config.CONSUMER_UNKNOWN_ORDER_GRACE_MS) {
      await republisher.retryLater(msg, firstSeen);
      metrics.events.inc({ outcome: 'retried' });
      logger.debug({ eventId: event.id, orderId: event.data.order_id }, 'order not known yet; event parked in the retry queue');
      return ConsumerStatus.ACK;
    }
    return deadLetter(msg, attempt, 'unknown-order', `unknown order ${event.data.order_id} (still unknown after ${now - firstSeen} ms)`);
  }

  async function handle(msg: AsyncMessage, span: Span): Promise<ConsumerStatus> {
    const attempt = deliveryAttempt(msg);
    const parsed = parsePaymentEvent(msg, limits);
    if (!parsed.ok) return deadLetter(msg, attempt, parsed.code, parsed.reason);
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
      // Jittered, so deadlocked or throttled handlers do not retry in lockstep.
      const delayMs = backoff(attempt, { baseMs: config.CONSUMER_RETRY_DELAY_MS, maxMs: config.CONSUMER_RETRY_MAX_DELAY_MS });
      return retryLater(msg, attempt, delayMs, message);
    }

    if (result.outcome === 'unknown-order') return unknownOrder(msg, attempt, event);
    if (result.outcome === 'amount-mismatch') {
      const reason = `payment amount ${event.data.amount.toFixed(2)} differs from the order total ${result.orderTotal}`;
      return deadLetter(msg, attempt, 'amount-mismatch', reason);
    }
    if (result.outcome === 'applied' || result.outcome === 'ignored') deps.afterCommit?.(result);
    const log = { eventId: event.id, orderId: event.data.order_id, status: event.data.status };
    switch (result.outcome) {
      case 'applied':
        await cache.store(event.data.order_id, result.version, orderJson(result.order));
        metrics.orderToApplied.observe(Math.max(0, clock.now() - result.order.created_at.getTime()) / 1_000);
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

  return startWhenDeclared(consumer, republisher, () => declarePaymentTopology(connection), logger, stopping);
}
