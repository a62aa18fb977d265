import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import * as v from 'valibot';
import { EVENT_SOURCE, ORDER_CREATED, OrderCreated, PAYMENT_PROCESSED, PaymentProcessed, Topology, cloudEventOf } from '../src/events/index';

const orderCreated = () =>
  cloudEventOf({
    type: ORDER_CREATED,
    source: EVENT_SOURCE,
    time: '2026-01-02T03:04:05.678Z',
    data: {
      order_id: randomUUID(),
      customer_id: randomUUID(),
      items: [{ product_id: randomUUID(), quantity: 3, price: 24.9 }],
      total_amount: 74.7,
      shipping_address: 'Main Street 1',
      created_at: '2026-01-02T03:04:05.678Z',
    },
  });

const paymentProcessed = () =>
  cloudEventOf({
    type: PAYMENT_PROCESSED,
    source: '/payments',
    time: '2026-01-02T03:04:05Z',
    data: { order_id: randomUUID(), payment_id: 'pay_1', status: 'SUCCEEDED', amount: 74.7 },
  });

describe('cloudEventOf', () => {
  it('writes the CloudEvents 1.0 structured envelope, its fields in the order of the contract', () => {
    const event = cloudEventOf({ type: 'Anything', source: '/here', id: 'the-id', time: 'the-time', data: { n: 1 } });
    expect(Object.keys(event)).to.deep.equal(['specversion', 'id', 'source', 'type', 'time', 'datacontenttype', 'data']);
    expect(Object.values(event)).to.deep.equal(['1.0', 'the-id', '/here', 'Anything', 'the-time', 'application/json', { n: 1 }]);
  });

  it('gives each event a fresh UUID and the current time unless they are given', () => {
    const before = Date.now();
    const [first, second] = [orderCreated(), cloudEventOf({ type: ORDER_CREATED, source: EVENT_SOURCE, data: {} })];
    expect(first.id).to.match(/^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/);
    expect(second.id).to.not.equal(first.id);
    expect(Date.parse(second.time)).to.be.within(before, Date.now());
  });
});

describe('CloudEvent schemas', () => {
  describe('OrderCreated', () => {
    it('accepts a CloudEvents 1.0 structured event with the contract data', () => {
      const event = orderCreated();
      expect(v.parse(OrderCreated, event)).to.deep.equal(event);
    });

    const broken: Array<[string, (event: ReturnType<typeof orderCreated>) => unknown]> = [
      ['another specversion', (e) => ({ ...e, specversion: '0.3' })],
      ['another type', (e) => ({ ...e, type: 'OrderUpdated' })],
      ['an id that is not a UUID', (e) => ({ ...e, id: 'evt-1' })],
      ['no source', (e) => ({ ...e, source: '' })],
      ['a time that is not ISO 8601', (e) => ({ ...e, time: 'yesterday' })],
      ['another content type', (e) => ({ ...e, datacontenttype: 'text/plain' })],
      ['a price with 3 decimals', (e) => ({ ...e, data: { ...e.data, items: [{ ...e.data.items[0], price: 1.005 }] } })],
      ['a negative total', (e) => ({ ...e, data: { ...e.data, total_amount: -1 } })],
      ['a total given as a string', (e) => ({ ...e, data: { ...e.data, total_amount: '74.70' } })],
      ['a zero quantity', (e) => ({ ...e, data: { ...e.data, items: [{ ...e.data.items[0], quantity: 0 }] } })],
      ['no order id', (e) => ({ ...e, data: { ...e.data, order_id: undefined } })],
      ['no data', (e) => ({ ...e, data: undefined })],
    ];
    for (const [label, mutate] of broken) {
      it(`refuses an event with ${label}`, () => {
        expect(v.safeParse(OrderCreated, mutate(orderCreated())).success).to.equal(false);
      });
    }

    it('accepts money with up to 2 decimals, despite float representation', () => {
      for (const price of [0.1, 0.29, 1.15, 4.35, 19.99, 9999999999.99, 0]) {
        const event = orderCreated();
        event.data.items[0]!.price = price;
        expect(v.safeParse(OrderCreated, event).success, String(price)).to.equal(true);
      }
    });
  });

  describe('PaymentProcessed', () => {
    it('accepts a succeeded and a failed payment (with a reason)', () => {
      expect(v.safeParse(PaymentProcessed, paymentProcessed()).success).to.equal(true);
      const failed = paymentProcessed();
      const withReason = { ...failed, data: { ...failed.data, status: 'FAILED', reason: 'card declined' } };
      expect(v.safeParse(PaymentProcessed, withReason).success).to.equal(true);
    });

    it('refuses unknown statuses, empty payment ids and the wrong type', () => {
      const event = paymentProcessed();
      expect(v.safeParse(PaymentProcessed, { ...event, data: { ...event.data, status: 'PENDING' } }).success).to.equal(false);
      expect(v.safeParse(PaymentProcessed, { ...event, data: { ...event.data, payment_id: '' } }).success).to.equal(false);
      expect(v.safeParse(PaymentProcessed, { ...event, type: ORDER_CREATED }).success).to.equal(false);
    });
  });

  it('names the contract addresses', () => {
    expect(Topology).to.include({
      ordersExchange: 'orders',
      orderCreatedKey: 'order.created',
      paymentsExchange: 'payments',
      paymentProcessedKey: 'payment.processed',
      paymentQueue: 'order-service.payment-processed',
      paymentDlq: 'order-service.payment-processed.dlq',
    });
  });
});
