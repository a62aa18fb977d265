import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { outboxRowOf } from '../src/db/outbox-row';
import { EVENT_SOURCE, ORDER_CREATED, cloudEventOf } from '../src/events/index';

const orderCreated = () =>
  cloudEventOf({
    type: ORDER_CREATED,
    source: EVENT_SOURCE,
    data: {
      order_id: randomUUID(),
      customer_id: randomUUID(),
      items: [{ product_id: randomUUID(), quantity: 1, price: 0.1 }],
      total_amount: 0.1,
      shipping_address: 'Main Street 1',
      created_at: new Date().toISOString(),
    },
  });

describe('outboxRowOf', () => {
  it('addresses an OrderCreated to orders / order.created, keyed by its id and its order, the whole event as the payload', () => {
    const event = orderCreated();
    expect(outboxRowOf(event)).to.deep.equal({
      event_id: event.id,
      event_type: 'OrderCreated',
      aggregate_id: event.data.order_id,
      exchange: 'orders',
      routing_key: 'order.created',
      payload: JSON.stringify(event),
      traceparent: null,
      tracestate: null,
    });
  });

  it('keeps the trace context it is given, and stores none it is not', () => {
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    expect(outboxRowOf(orderCreated(), { traceparent, tracestate: 'vendor=abc' })).to.include({ traceparent, tracestate: 'vendor=abc' });
    expect(outboxRowOf(orderCreated(), { traceparent })).to.include({ traceparent, tracestate: null });
  });
});
