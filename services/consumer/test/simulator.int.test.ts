import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Connection } from 'rabbitmq-client';
import * as v from 'valibot';
import { ORDER_CREATED, PaymentProcessed, Topology, cloudEventOf, type OrderCreated } from '@order-service/shared';
import { createTestVhost, waitFor, type TestVhost } from '@order-service/testkit';
import { createSimulatorMetrics, startSimulator } from '../src/simulator/simulator';
import { quietLogger } from './support';

function orderCreated(): OrderCreated {
  const now = new Date().toISOString();
  return cloudEventOf({
    type: ORDER_CREATED,
    source: '/order-service/api',
    time: now,
    data: {
      order_id: randomUUID(),
      customer_id: randomUUID(),
      items: [{ product_id: randomUUID(), quantity: 2, price: 12.5 }],
      total_amount: 25,
      shipping_address: '1 Test Street',
      created_at: now,
    },
  });
}

describe('payment simulator', function () {
  this.timeout(30_000);
  let vhost: TestVhost;
  let connection: Connection;
  let simulator: Awaited<ReturnType<typeof startSimulator>>;
  let publisher: ReturnType<Connection['createPublisher']>;

  before(async () => {
    vhost = await createTestVhost('simulator');
    connection = new Connection(vhost.url);
    publisher = connection.createPublisher({ confirm: true });
    simulator = startSimulator({
      connection,
      logger: quietLogger,
      metrics: createSimulatorMetrics(),
      config: { SIMULATOR_SUCCESS_RATIO: 1, SIMULATOR_DELAY_MS: 0, SIMULATOR_PREFETCH: 10, SIMULATOR_CONCURRENCY: 5 },
    });
    await new Promise((resolve) => simulator.consumer.once('ready', resolve));
  });
  after(async () => {
    await simulator?.stop();
    await publisher?.close();
    await connection?.close();
    await vhost?.drop();
  });

  /** The next PaymentProcessed the simulator published (it lands in the consumer's queue, which nobody reads here). */
  const nextPayment = () =>
    waitFor(() => connection.basicGet({ queue: Topology.paymentQueue, noAck: true }), { what: 'a PaymentProcessed message' });

  const publishOrder = (event: OrderCreated, headers: Record<string, string> = {}) =>
    publisher.send(
      { exchange: Topology.ordersExchange, routingKey: Topology.orderCreatedKey, messageId: event.id, contentType: 'application/json', durable: true, headers },
      Buffer.from(JSON.stringify(event)),
    );

  it('answers an OrderCreated with a PaymentProcessed CloudEvent, carrying the traceparent on', async () => {
    const order = orderCreated();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await publishOrder(order, { traceparent });

    const msg = await nextPayment();
    const event = v.parse(PaymentProcessed, msg.body);
    expect(event.data).to.include({ order_id: order.data.order_id, status: 'SUCCEEDED', amount: 25 });
    expect(msg).to.include({ messageId: event.id, correlationId: order.data.order_id, contentType: 'application/json', durable: true });
    expect(msg.headers).to.include({ traceparent });
  });

  it('answers a redelivered OrderCreated with the very same event, and drops what is not an OrderCreated', async () => {
    const order = orderCreated();
    await publisher.send({ exchange: Topology.ordersExchange, routingKey: Topology.orderCreatedKey, contentType: 'application/json' }, Buffer.from('{nope'));
    await publishOrder(order);
    await publishOrder(order);
    const first = v.parse(PaymentProcessed, (await nextPayment()).body);
    const second = v.parse(PaymentProcessed, (await nextPayment()).body);
    expect(second.id).to.equal(first.id);
    expect(second.data).to.deep.equal(first.data);
  });
});
