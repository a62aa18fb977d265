import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import * as v from 'valibot';
import { ORDER_CREATED, PaymentProcessed, cloudEventOf, type OrderCreated } from '@order-service/shared';
import { simulatePayment, stableUuid } from '../src/simulator/simulate';

function order(): OrderCreated {
  const now = new Date().toISOString();
  return cloudEventOf({
    type: ORDER_CREATED,
    source: '/order-service/api',
    time: now,
    data: { order_id: randomUUID(), customer_id: randomUUID(), items: [], total_amount: 99.99, shipping_address: 'x', created_at: now },
  });
}

describe('simulatePayment', () => {
  it('produces a valid PaymentProcessed event for the order amount', () => {
    const created = order();
    const event = simulatePayment(created, 1);
    expect(v.parse(PaymentProcessed, event)).to.deep.equal(event);
    expect(event.data).to.include({ order_id: created.data.order_id, status: 'SUCCEEDED', amount: 99.99 });
  });

  it('follows the success ratio: 1 always succeeds, 0 always fails (with a reason), 0.9 about nine in ten', () => {
    const orders = Array.from({ length: 2_000 }, order);
    expect(orders.every((o) => simulatePayment(o, 1).data.status === 'SUCCEEDED')).to.equal(true);
    expect(orders.every((o) => simulatePayment(o, 0).data.reason !== undefined)).to.equal(true);
    const succeeded = orders.filter((o) => simulatePayment(o, 0.9).data.status === 'SUCCEEDED').length;
    expect(succeeded / orders.length).to.be.within(0.85, 0.95);
  });

  it('gives a redelivered OrderCreated the same event id and result', () => {
    const created = order();
    const first = simulatePayment(created, 0.5, new Date(0));
    const again = simulatePayment(created, 0.5, new Date(1_000));
    expect(again.id).to.equal(first.id);
    expect(again.data).to.deep.equal(first.data);
    expect(stableUuid('a')).to.match(/^[\da-f]{8}-[\da-f]{4}-5[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
  });
});
