import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DEAD_LETTER_CODES } from '@order-service/shared';

export type EventOutcome = 'applied' | 'duplicate' | 'ignored' | 'retried' | 'dead_lettered';

/** The consumer's Prometheus metrics (names are shared with dashboards and the bench). */
export function createConsumerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const events = new Counter({
    name: 'consumer_events_total',
    help: 'PaymentProcessed deliveries by outcome: applied, duplicate, ignored, retried (requeued) or dead_lettered',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  // Every outcome is exported from the start, so a rate() over it never sees a missing series.
  for (const outcome of ['applied', 'duplicate', 'ignored', 'retried', 'dead_lettered'] satisfies EventOutcome[]) {
    events.inc({ outcome }, 0);
  }
  const deadLetters = new Counter({
    name: 'consumer_dead_letters_total',
    help: 'Messages moved to the DLQ, by reason code (invalid-message, too-large, headers-too-large, unknown-order, amount-mismatch, max-attempts)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  for (const code of DEAD_LETTER_CODES) deadLetters.inc({ code }, 0);
  const handleDuration = new Histogram({
    name: 'consumer_handle_duration_seconds',
    help: 'Time to handle one delivery, from receipt to ack, nack or dead-letter',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const orderToApplied = new Histogram({
    name: 'consumer_order_to_applied_seconds',
    help: 'Time from an order being created to its payment status being applied',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    registers: [registry],
  });
  return { registry, events, deadLetters, handleDuration, orderToApplied };
}

export type ConsumerMetrics = ReturnType<typeof createConsumerMetrics>;
