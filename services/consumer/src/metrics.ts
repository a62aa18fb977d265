import { Counter, Histogram, type Registry } from 'prom-client';
import { DEAD_LETTER_CODES, createRegistry } from '@order-service/shared';

const EVENT_OUTCOMES = ['applied', 'duplicate', 'ignored', 'retried', 'dead_lettered'] as const;
export type EventOutcome = (typeof EVENT_OUTCOMES)[number];

/**
 * A counter by one label whose every value is exported from the start, at 0, so that a rate()
 * over it never sees a missing series.
 */
function counterByEvery<L extends string>(registry: Registry, name: string, help: string, label: L, values: readonly string[]) {
  const counter = new Counter<L>({ name, help, labelNames: [label], registers: [registry] });
  for (const value of values) counter.inc({ [label]: value } as Record<L, string>, 0);
  return counter;
}

/** The consumer's Prometheus metrics (names are shared with dashboards and the bench). */
export function createConsumerMetrics() {
  const registry = createRegistry();
  const events = counterByEvery(
    registry,
    'consumer_events_total',
    'PaymentProcessed deliveries by outcome: applied, duplicate, ignored, retried (requeued) or dead_lettered',
    'outcome',
    EVENT_OUTCOMES,
  );
  const deadLetters = counterByEvery(
    registry,
    'consumer_dead_letters_total',
    'Messages moved to the DLQ, by reason code (invalid-message, too-large, headers-too-large, unknown-order, amount-mismatch, max-attempts)',
    'code',
    DEAD_LETTER_CODES,
  );
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
