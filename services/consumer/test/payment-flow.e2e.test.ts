import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Connection } from 'rabbitmq-client';
import { Topology } from '@order-service/shared';
import { createTestDatabase, createTestVhost, waitFor, type TestDatabase, type TestVhost } from '@order-service/testkit';
import { paymentEvent } from './fixtures';
import { drainDlq, paymentPublisher, startOrderPath, type OrderPath } from './support';

describe('the payment flow, all processes as an operator runs them', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let services: OrderPath;

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('flow'), createTestVhost('flow')]);
    services = await startOrderPath(database, vhost, { CONSUMER_UNKNOWN_ORDER_GRACE_MS: '500' });
  });
  after(async () => {
    if (services) await Promise.allSettled(Object.values(services).map((service) => service.stop('SIGKILL')));
    await Promise.allSettled([vhost?.drop(), database?.drop()]);
  });

  const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${services.api.port}${path}`, init);
  const consumerMetric = async (series: string) => {
    const text = await (await fetch(`http://127.0.0.1:${services.consumer.port}/metrics`)).text();
    return Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.split(' ')[1] ?? NaN);
  };
  const status = async (orderId: string) => ((await (await api(`/api/orders/${orderId}`)).json()) as { status: string }).status;

  it('an order POSTed through the API reaches PROCESSING through relay, simulator and consumer, and the API shows it', async () => {
    // The caller's trace: it must come out on the consumer side, across relay and payment side.
    const traceId = randomUUID().replaceAll('-', '');
    const created = await api('/api/orders', {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
      body: JSON.stringify({
        customer_id: randomUUID(),
        items: [{ product_id: '11111111-1111-4111-8111-111111111111', quantity: 2 }],
        shipping_address: '1 Flow Street',
      }),
    });
    expect(created.status).to.equal(201);
    const { order_id: orderId, total_amount: total } = (await created.json()) as { order_id: string; total_amount: number };
    expect(await status(orderId)).to.equal('PENDING'); // and now cached

    await waitFor(async () => (await status(orderId)) === 'PROCESSING', { timeoutMs: 30_000, intervalMs: 100, what: 'the order to reach PROCESSING' });
    const applied = await waitFor(() => services.consumer.logs.find((line) => line.msg === 'payment applied' && line.orderId === orderId), {
      what: "the consumer's log line for the payment",
    });
    expect(applied.trace_id, 'the consumer continues the trace of the POST').to.equal(traceId);

    // An operator then publishes by hand: a contrary result changes nothing, garbage lands in the DLQ.
    const admin = new Connection(vhost.url);
    const publisher = paymentPublisher(admin);
    try {
      await publisher.send(paymentEvent(orderId, 'FAILED', { amount: total }));
      const garbageId = randomUUID();
      await publisher.send('not json', { messageId: garbageId });
      const dead = await waitFor(async () => (await drainDlq(admin)).find((msg) => msg.messageId === garbageId), {
        timeoutMs: 20_000,
        what: 'the malformed message in the DLQ',
      });
      expect(dead.headers?.['x-dead-letter-reason']).to.match(/^not JSON/);
      expect(dead.routingKey).to.equal(Topology.paymentDlq);
      await waitFor(async () => (await consumerMetric('consumer_events_total{outcome="ignored"}')) === 1, {
        what: 'the contrary event to be ignored',
      });
      expect(await status(orderId)).to.equal('PROCESSING');
    } finally {
      await publisher.close();
      await admin.close();
    }
  });

  it('every process exits 0 on SIGTERM', async () => {
    const codes = await Promise.all(Object.values(services).map((service) => service.stop('SIGTERM')));
    expect(codes).to.deep.equal([0, 0, 0, 0]);
  });
});
