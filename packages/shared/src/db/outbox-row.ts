import { Topology } from '../events/topology';
import type { OrderCreated } from '../events/order-created';

/** W3C trace context to store with an outbox row, so the trace crosses the broker. */
export interface OutboxTrace {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

/** The outbox row that publishes an OrderCreated on `orders` / `order.created`, the full event as its payload. */
export function outboxRowOf(event: OrderCreated, trace: OutboxTrace = {}) {
  return {
    event_id: event.id,
    event_type: event.type,
    aggregate_id: event.data.order_id,
    exchange: Topology.ordersExchange,
    routing_key: Topology.orderCreatedKey,
    payload: JSON.stringify(event),
    traceparent: trace.traceparent ?? null,
    tracestate: trace.tracestate ?? null,
  };
}
export type OutboxRow = ReturnType<typeof outboxRowOf>;
