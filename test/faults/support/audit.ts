import { ConsumerStatus, type Connection, type Consumer } from 'rabbitmq-client';
import { Topology } from '@order-service/shared';

export const AUDIT_QUEUE = 'fault-audit';

/** One event id as the audit queue saw it. */
export interface AuditedEvent {
  orderId: string | undefined;
  shippingAddress: string | undefined;
  /** The body of its first copy, as text. */
  body: string;
  deliveries: number;
}

/**
 * The independent witness of what the relay really put on the wire: a queue of the test's own,
 * bound to `orders` with `#`, that records every message it gets (by CloudEvent id). It never
 * requeues, so each copy the broker routed to it is counted once.
 */
export interface Audit {
  events: Map<string, AuditedEvent>;
  /** Every copy received, duplicates included. */
  deliveries(): number;
  /** Binds the audit queue to `orders` again (after the exchange was deleted and redeclared). */
  rebind(): Promise<void>;
  close(): Promise<void>;
}

export function startAudit(connection: Connection, queueArguments?: Record<string, unknown>): Audit {
  const events = new Map<string, AuditedEvent>();
  let total = 0;
  const binding = { queue: AUDIT_QUEUE, exchange: Topology.ordersExchange, routingKey: '#' };
  const consumer: Consumer = connection.createConsumer(
    {
      queue: AUDIT_QUEUE,
      queueOptions: { queue: AUDIT_QUEUE, durable: true, ...(queueArguments ? { arguments: queueArguments } : {}) },
      queueBindings: [binding],
      qos: { prefetchCount: 500 },
    },
    (msg) => {
      let data: { order_id?: string; shipping_address?: string } = {};
      const text = Buffer.isBuffer(msg.body) ? msg.body.toString('utf8') : JSON.stringify(msg.body);
      try {
        data = (JSON.parse(text) as { data?: typeof data }).data ?? {};
      } catch {
        // An unreadable message still counts, under its message id, as unexpected.
      }
      const id = msg.messageId ?? `no-message-id-${total}`;
      const seen = events.get(id);
      if (seen) seen.deliveries += 1;
      else events.set(id, { orderId: data.order_id, shippingAddress: data.shipping_address, body: text, deliveries: 1 });
      total += 1;
      return ConsumerStatus.ACK;
    },
  );
  consumer.on('error', () => {
    // The consumer recovers by itself; a lost delivery would show up as `lost` anyway.
  });
  return {
    events,
    deliveries: () => total,
    async rebind() {
      await connection.queueBind(binding);
    },
    close: () => consumer.close(),
  };
}
