import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { Connection } from 'rabbitmq-client';
import { Topology, orderCacheKey, type Db } from '@order-service/shared';
import {
  createTestDatabase,
  createTestVhost,
  startService,
  waitFor,
  waitForLockWait,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { declarePaymentTopology } from '@order-service/shared';
import { REDIS_URL, insertOrder, paymentEvent, paymentPublisher, startApi } from './support';

const CONSUMER = 'services/consumer/src/main.ts';

/** One counter of the consumer's /metrics, e.g. consumer_events_total{outcome="applied"}. */
async function metric(service: ServiceProcess, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${service.port}/metrics`)).text();
  const line = text.split('\n').find((row) => row.startsWith(`${series} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

/** Locks the rows of `orderIds` in a transaction held until `release`, so applying a payment to them waits. */
async function holdOrders(db: Db, orderIds: string[]) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const done = db.transaction().execute(async (trx) => {
    await trx.selectFrom('orders').select('order_id').where('order_id', 'in', orderIds).forUpdate().execute();
    locked();
    await released;
  });
  await Promise.race([isLocked, done]);
  return {
    async release() {
      release();
      await done;
    },
  };
}

describe('consumer process: crash after commit, and SIGTERM', function () {
  this.timeout(90_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let admin: Connection;
  let publisher: ReturnType<typeof paymentPublisher>;
  let env: Record<string, string>;
  const running: ServiceProcess[] = [];

  async function start(extra: Record<string, string> = {}) {
    const service = await startService(CONSUMER, { ...env, ...extra });
    running.push(service);
    return service;
  }

  /** Messages ready in the queue (with no consumer running, that is every message not acked). */
  async function queueDepth() {
    return (await admin.queueDeclare({ queue: Topology.paymentQueue, passive: true })).messageCount;
  }

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('crash'), createTestVhost('crash')]);
    admin = new Connection(vhost.url);
    publisher = paymentPublisher(admin);
    await declarePaymentTopology(admin);
    env = { DATABASE_URL: database.url, RABBITMQ_URL: vhost.url, REDIS_URL, PORT: '0', CONSUMER_RETRY_DELAY_MS: '20' };
  });
  after(async () => {
    await Promise.allSettled(running.map((service) => service.stop('SIGKILL')));
    await publisher?.close();
    await admin?.close();
    await Promise.allSettled([vhost?.drop(), database?.drop()]);
  });

  it('killed after its commit and before its ack, the redelivered event changes nothing and the read is true', async () => {
    const api = await startApi(database.url);
    try {
      const orderId = await api.placeOrder();
      await api.getOrder(orderId);
      await waitFor(() => api.redis.get(orderCacheKey(orderId)), { what: 'the order to be cached' });

      const crashing = await start({ CONSUMER_CRASH_POINT: 'after-commit' });
      await publisher.send(paymentEvent(orderId, 'SUCCEEDED'));
      // Killed by SIGKILL (tsx reports its child's death as 137), not a clean exit.
      expect(await crashing.exited).to.be.oneOf([null, 137]);
      const committed = await database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
      expect(committed).to.include({ status: 'PROCESSING', version: 2 });
      // It died before its cache write: the cached copy is still the old one.
      expect((await api.getOrder(orderId)).body.status).to.equal('PENDING');

      const consumer = await start();
      await waitFor(async () => (await metric(consumer, 'consumer_events_total{outcome="duplicate"}')) === 1, {
        timeoutMs: 20_000,
        what: 'the redelivery to be recognised as a duplicate',
      });
      expect(await metric(consumer, 'consumer_events_total{outcome="applied"}')).to.equal(0);
      expect((await api.getOrder(orderId)).body.status).to.equal('PROCESSING');
      const inbox = await database.db.selectFrom('processed_events').selectAll().where('order_id', '=', orderId).execute();
      const history = await database.db.selectFrom('order_status_history').selectAll().where('order_id', '=', orderId).execute();
      expect(inbox).to.have.length(1);
      expect(history).to.have.length(1);
      expect(await consumer.stop('SIGTERM')).to.equal(0);
    } finally {
      await api.close();
    }
  });

  it('on SIGTERM it finishes the messages in hand and exits 0, losing and repeating nothing', async () => {
    const orderIds = await Promise.all(Array.from({ length: 300 }, () => insertOrder(database.db)));
    // The first messages' orders are locked, so their handlers are still applying them when the
    // signal comes: those are the messages in hand.
    const inHand = orderIds.slice(0, 5);
    const lock = await holdOrders(database.db, inHand);
    let consumer: ServiceProcess;
    try {
      for (const orderId of orderIds) await publisher.send(paymentEvent(orderId, 'SUCCEEDED'));
      consumer = await start();
      await waitForLockWait(database.db, 'order-service-consumer');
      consumer.child.kill('SIGTERM');
      await waitFor(() => consumer.logs.some((line) => line.msg === 'shutting down'), { what: 'the consumer to begin its shutdown' });
      const stillRunning = await Promise.race([consumer.exited.then(() => false), sleep(300).then(() => true)]);
      expect(stillRunning, 'it waits for the messages in hand').to.equal(true);
    } finally {
      await lock.release();
    }
    expect(await consumer.exited).to.equal(0);

    const applied = (ids: string[]) =>
      database.db
        .selectFrom('orders')
        .select('order_id')
        .where('order_id', 'in', ids)
        .where('status', '=', 'PROCESSING')
        .execute()
        .then((rows) => rows.length);
    expect(await applied(inHand), 'the messages in hand were applied before the exit').to.equal(inHand.length);
    // Every message was either applied and acked, or is back in the queue unapplied: an applied
    // message that went back (its ack lost) would make the sum exceed the count.
    await waitFor(async () => (await applied(orderIds)) + (await queueDepth()) >= orderIds.length, { what: 'no message lost' });
    expect((await applied(orderIds)) + (await queueDepth())).to.equal(orderIds.length);

    const next = await start();
    await waitFor(async () => (await applied(orderIds)) === orderIds.length, { timeoutMs: 30_000, what: 'the rest applied' });
    expect(await metric(next, 'consumer_events_total{outcome="dead_lettered"}')).to.equal(0);
    expect(await metric(next, 'consumer_events_total{outcome="duplicate"}'), 'no applied message was delivered again').to.equal(0);
    // Repeating nothing: one inbox row and one transition per order, however often it was delivered.
    const history = await database.db.selectFrom('order_status_history').select('order_id').where('order_id', 'in', orderIds).execute();
    expect(history).to.have.length(orderIds.length);
    expect(new Set(history.map((row) => row.order_id)).size).to.equal(orderIds.length);
    expect(await next.stop('SIGTERM')).to.equal(0);
  });
});
