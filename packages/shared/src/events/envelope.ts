import type { Selectable } from 'kysely';
import type { Envelope } from 'rabbitmq-client';
import type { Outbox } from '../db/types';
import type { PaymentProcessed } from './payment-processed';
import { Topology } from './topology';

/** The columns of an outbox row its message is addressed and labelled with; `created_ms` is its created_at in ms since the epoch. */
export type OutboxMessage = Pick<Selectable<Outbox>, 'exchange' | 'routing_key' | 'event_id' | 'aggregate_id' | 'event_type' | 'traceparent' | 'tracestate'> & {
  created_ms: number;
};

/** The trace context the API stored with the row, as headers; without the SDK the relay passes it on as it is. */
const storedTraceHeaders = (row: OutboxMessage) =>
  row.traceparent ? { traceparent: row.traceparent, ...(row.tracestate ? { tracestate: row.tracestate } : {}) } : undefined;

/** The AMQP properties the contract promises for every event, with the trace context to carry on. */
export function envelopeOf(row: OutboxMessage, traceHeaders: Record<string, string> | undefined = storedTraceHeaders(row)): Envelope {
  return {
    exchange: row.exchange,
    routingKey: row.routing_key,
    durable: true,
    contentType: 'application/json',
    messageId: row.event_id,
    correlationId: row.aggregate_id,
    type: row.event_type,
    timestamp: Math.floor(row.created_ms / 1000),
    ...(traceHeaders?.traceparent ? { headers: traceHeaders } : {}),
  };
}

/** The AMQP properties the contract promises for a PaymentProcessed, as the payment side publishes it. */
export function paymentEnvelope(event: PaymentProcessed): Envelope {
  return {
    exchange: Topology.paymentsExchange,
    routingKey: Topology.paymentProcessedKey,
    messageId: event.id,
    correlationId: event.data.order_id,
    contentType: 'application/json',
    durable: true,
  };
}
