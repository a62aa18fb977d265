import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import pg from 'pg';
import { Connection, type AsyncMessage } from 'rabbitmq-client';
import { DELIVERY_LIMIT, Topology, findOrderWithItems, orderCacheKey, orderJson } from '@order-service/shared';
import {
  createTestDatabase,
  createTestVhost,
  rabbitmqctl,
  startTcpProxy,
  waitFor,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { drainDlq, insertOrder, paymentEvent, paymentPublisher, startApi, startTestConsumer } from './support';

type TestConsumer = Awaited<ReturnType<typeof startTestConsumer>>;

describe('payment consumer', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let admin: Connection;
  let publisher: ReturnType<typeof paymentPublisher>;
  let api: Awaited<ReturnType<typeof startApi>>;
  const dlq: AsyncMessage[] = [];

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('consumer'), createTestVhost('consumer')]);
    admin = new Connection(vhost.url);
    publisher = paymentPublisher(admin);
    api = await startApi(database.url);
  });
  after(async () => {
    await api?.close();
    await publisher?.close();
    await admin?.close();
    await Promise.allSettled([vhost?.drop(), database?.drop()]);
  });

  /** Waits until the DLQ has received a message with this message id, and returns it. */
  function dlqMessage(messageId: string) {
    return waitFor(
      async () => {
        dlq.push(...(await drainDlq(admin)));
        return dlq.find((msg) => msg.messageId === messageId);
      },
      { timeoutMs: 20_000, intervalMs: 100, what: `message ${messageId} in the DLQ` },
    );
  }

  const history = (orderId: string) => database.db.selectFrom('order_status_history').selectAll().where('order_id', '=', orderId).execute();
  const inbox = (orderId: string) => database.db.selectFrom('processed_events').selectAll().where('order_id', '=', orderId).execute();
  const order = (orderId: string) => database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();

  describe('with one consumer', () => {
    let consumer: TestConsumer;
    before(async () => {
      consumer = await startTestConsumer({ databaseUrl: database.url, rabbitUrl: vhost.url });
    });
    after(() => consumer?.stop());

    /** Runs `publish`, then waits until the consumer has finished (acked) `n` more deliveries. */
    async function andWait(n: number, publish: () => Promise<unknown>) {
      const total = async () =>
        (await consumer.count('applied')) + (await consumer.count('duplicate')) + (await consumer.count('ignored'));
      const target = (await total()) + n;
      await publish();
      await waitFor(async () => (await total()) >= target, { timeoutMs: 20_000, what: `${n} deliveries handled` });
    }

    it('declares a durable quorum queue with a delivery limit and at-least-once dead-lettering', async () => {
      const listing = await rabbitmqctl('list_queues', '-p', vhost.name, '--no-table-headers', 'name', 'type', 'durable', 'arguments');
      const line = listing.split('\n').find((row) => row.startsWith(`${Topology.paymentQueue}\t`));
      expect(line).to.include('quorum').and.include('true');
      expect(line).to.include(`x-delivery-limit`).and.include(String(DELIVERY_LIMIT));
      expect(line).to.include('at-least-once').and.include('reject-publish').and.include(Topology.paymentDeadLetterExchange);
      expect(listing).to.include(Topology.paymentDlq);
    });

    it('a SUCCEEDED payment moves the order to PROCESSING, and a cached read shows it at once', async () => {
      const orderId = await api.placeOrder();
      const first = await api.getOrder(orderId);
      expect(first.body.status).to.equal('PENDING');
      // The API fills the cache after answering; the next read is served from Redis.
      await waitFor(() => api.redis.get(orderCacheKey(orderId)), { what: 'the order to be cached' });
      expect((await api.getOrder(orderId)).body.status).to.equal('PENDING');

      await andWait(1, () => publisher.send(paymentEvent(orderId, 'SUCCEEDED')));

      // The consumer cached the order as it is now, at its new version: the next GET needs no Postgres.
      const stored = await order(orderId);
      expect(stored.version).to.equal(2);
      expect(await api.redis.get(orderCacheKey(orderId))).to.equal(`2|${orderJson((await findOrderWithItems(database.db, orderId))!)}`);
      const after = await api.getOrder(orderId);
      expect(after.body.status).to.equal('PROCESSING');
      expect(Date.parse(after.body.updated_at)).to.be.greaterThan(Date.parse(first.body.updated_at));
    });

    it('a FAILED payment moves the order to FAILED, with the transition and its reason in the history', async () => {
      const orderId = await api.placeOrder();
      await api.getOrder(orderId);
      await waitFor(() => api.redis.get(orderCacheKey(orderId)), { what: 'the order to be cached' });
      const event = paymentEvent(orderId, 'FAILED', { reason: 'insufficient funds' });

      await andWait(1, () => publisher.send(event));

      expect((await api.getOrder(orderId)).body.status).to.equal('FAILED');
      const rows = await history(orderId);
      expect(rows).to.have.length(1);
      expect(rows[0]).to.include({ from_status: 'PENDING', to_status: 'FAILED', event_id: event.id, reason: 'insufficient funds' });
      expect(rows[0]!.payment_id).to.equal(event.data.payment_id);
      expect(await inbox(orderId)).to.have.length(1).and.to.have.nested.property('[0].outcome', 'applied');
    });

    it('the same event published five times is applied once, with one inbox row', async () => {
      const orderId = await insertOrder(database.db);
      const event = paymentEvent(orderId, 'SUCCEEDED');
      const duplicates = await consumer.count('duplicate');

      await andWait(5, async () => {
        for (let i = 0; i < 5; i++) await publisher.send(event);
      });

      expect(await consumer.count('duplicate')).to.equal(duplicates + 4);
      expect(await inbox(orderId)).to.have.length(1);
      expect(await history(orderId)).to.have.length(1);
      expect(await order(orderId)).to.include({ status: 'PROCESSING', version: 2 });
    });

    it('a late contrary event is recorded as ignored and changes nothing', async () => {
      const orderId = await insertOrder(database.db);
      await andWait(1, () => publisher.send(paymentEvent(orderId, 'SUCCEEDED')));
      const before = await order(orderId);

      await andWait(1, () => publisher.send(paymentEvent(orderId, 'FAILED')));

      const after = await order(orderId);
      expect(after).to.include({ status: 'PROCESSING', version: 2 });
      expect(after.updated_at.getTime()).to.equal(before.updated_at.getTime());
      expect((await inbox(orderId)).map((row) => row.outcome).sort()).to.deep.equal(['applied', 'ignored']);
      expect(await history(orderId)).to.have.length(1);
    });

    it('an event that arrives before its order is retried, and applied once the order exists', async () => {
      const orderId = randomUUID();
      const retried = await consumer.count('retried');
      await andWait(1, async () => {
        await publisher.send(paymentEvent(orderId, 'SUCCEEDED'));
        await waitFor(async () => (await consumer.count('retried')) > retried, { what: 'a requeue' });
        await insertOrder(database.db, orderId);
      });
      expect(await order(orderId)).to.include({ status: 'PROCESSING', version: 2 });
    });

    it('poison messages of every kind land in the DLQ with a reason, and the next good message is applied', async () => {
      const valid = paymentEvent(randomUUID(), 'SUCCEEDED');
      const { data: _data, ...withoutData } = valid;
      const poison: Array<{ body: unknown; contentType?: string; code: string; reason: RegExp }> = [
        { body: '{"specversion": "1.0", oops', code: 'invalid-message', reason: /^not JSON/ },
        { body: Buffer.from([0xff, 0xfe, 0x00, 0x01]), contentType: 'application/octet-stream', code: 'invalid-message', reason: /^not UTF-8/ },
        { body: '', code: 'invalid-message', reason: /^not JSON/ },
        { body: 'just text', contentType: 'text/plain', code: 'invalid-message', reason: /^not JSON/ },
        { body: '[1, 2, 3]', code: 'invalid-message', reason: /^invalid PaymentProcessed/ },
        { body: JSON.stringify(withoutData), code: 'invalid-message', reason: /data/ },
        { body: JSON.stringify({ ...valid, id: randomUUID(), type: 'OrderCreated' }), code: 'invalid-message', reason: /type/ },
        { body: JSON.stringify({ ...valid, id: randomUUID(), data: { ...valid.data, status: 'REFUNDED' } }), code: 'invalid-message', reason: /data\.status/ },
        { body: JSON.stringify({ ...valid, id: randomUUID(), data: { ...valid.data, order_id: '42' } }), code: 'invalid-message', reason: /data\.order_id/ },
        { body: JSON.stringify({ ...valid, id: 'not-a-uuid' }), code: 'invalid-message', reason: /id/ },
        { body: JSON.stringify(paymentEvent(randomUUID(), 'FAILED')), code: 'unknown-order', reason: /^unknown order/ },
      ];
      const ids = poison.map(() => randomUUID());
      for (const [index, message] of poison.entries()) {
        await publisher.send(message.body, { messageId: ids[index], contentType: message.contentType ?? 'application/json' });
      }
      const orderId = await insertOrder(database.db);
      const good = paymentEvent(orderId, 'FAILED');
      await publisher.send(good);

      // The good message is not held up behind the poison (the unknown order waits out its grace period).
      await waitFor(async () => (await order(orderId)).status === 'FAILED', { timeoutMs: 20_000, what: 'the good event applied' });
      for (const [index, message] of poison.entries()) {
        const dead = await dlqMessage(ids[index]!);
        expect(dead.headers?.['x-dead-letter-code'], `message ${index}`).to.equal(message.code);
        expect(dead.headers?.['x-dead-letter-reason'], `message ${index}`).to.match(message.reason);
        expect(dead.headers).to.include({ 'x-original-exchange': Topology.paymentsExchange, 'x-original-routing-key': Topology.paymentProcessedKey });
      }
      // The body travels unchanged.
      const notJson = await dlqMessage(ids[0]!);
      expect(Buffer.isBuffer(notJson.body) ? notJson.body.toString() : notJson.body).to.equal(poison[0]!.body);
      expect(await consumer.count('dead_lettered')).to.be.at.least(poison.length);
    });

    it('a Postgres connection killed mid-transaction is retried, and the event applied once', async () => {
      const orderId = await insertOrder(database.db);
      const retried = await consumer.count('retried');
      // Hold the order's row lock so the consumer's statement is in flight when its backend is killed.
      const locker = new pg.Client({ connectionString: database.url });
      await locker.connect();
      try {
        await locker.query('BEGIN');
        await locker.query('SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE', [orderId]);
        await publisher.send(paymentEvent(orderId, 'SUCCEEDED'));
        const pid = await waitFor(
          async () => {
            const { rows } = await sql<{ pid: number }>`
              SELECT pid FROM pg_stat_activity
              WHERE datname = current_database() AND application_name = 'consumer-test' AND wait_event_type = 'Lock'`.execute(database.db);
            return rows[0]?.pid;
          },
          { what: "the consumer's backend to wait on the row lock" },
        );
        await sql`SELECT pg_terminate_backend(${pid})`.execute(database.db);
      } finally {
        await locker.query('ROLLBACK');
        await locker.end();
      }
      await waitFor(async () => (await order(orderId)).status === 'PROCESSING', { timeoutMs: 20_000, what: 'the event applied' });
      expect(await consumer.count('retried')).to.be.greaterThan(retried);
      expect(await order(orderId)).to.include({ version: 2 });
      expect(await inbox(orderId)).to.have.length(1);
      expect(await history(orderId)).to.have.length(1);
    });
  });

  describe('with two consumers racing', () => {
    let consumers: TestConsumer[] = [];
    before(async () => {
      consumers = await Promise.all(
        ['consumer-a', 'consumer-b'].map((name) => startTestConsumer({ databaseUrl: database.url, rabbitUrl: vhost.url, name })),
      );
    });
    after(() => Promise.all(consumers.map((consumer) => consumer.stop())));

    it('two contrary events for one order leave exactly one transition', async () => {
      const orderIds = await Promise.all(Array.from({ length: 20 }, () => insertOrder(database.db)));
      for (const [index, orderId] of orderIds.entries()) {
        const pair = [paymentEvent(orderId, 'SUCCEEDED'), paymentEvent(orderId, 'FAILED')];
        if (index % 2) pair.reverse();
        for (const event of pair) await publisher.send(event);
      }
      await waitFor(
        async () => {
          const { count } = await database.db
            .selectFrom('processed_events')
            .select((eb) => eb.fn.countAll<string>().as('count'))
            .where('order_id', 'in', orderIds)
            .executeTakeFirstOrThrow();
          return Number(count) === 40;
        },
        { timeoutMs: 20_000, what: 'all 40 events recorded' },
      );
      for (const orderId of orderIds) {
        const transitions = await history(orderId);
        expect(transitions, orderId).to.have.length(1);
        expect((await inbox(orderId)).map((row) => row.outcome).sort()).to.deep.equal(['applied', 'ignored']);
        expect(await order(orderId)).to.include({ status: transitions[0]!.to_status, version: 2 });
      }
      // Both consumers took part.
      for (const consumer of consumers) expect((await consumer.count('applied')) + (await consumer.count('ignored'))).to.be.greaterThan(0);
    });
  });

  describe('when Postgres is unreachable', () => {
    it('an always-failing transient error is dead-lettered after the attempt cap, and the consumer carries on', async () => {
      const proxy = await startTcpProxy('127.0.0.1', Number(new URL(database.url).port || 5432));
      const consumer = await startTestConsumer({ databaseUrl: proxy.url(database.url), rabbitUrl: vhost.url }, { CONSUMER_MAX_ATTEMPTS: '3' });
      try {
        const orderId = await insertOrder(database.db);
        proxy.cut();
        const event = paymentEvent(orderId, 'SUCCEEDED');
        await publisher.send(event);

        const dead = await dlqMessage(event.id);
        expect(dead.headers).to.include({ 'x-dead-letter-code': 'max-attempts', 'x-dead-letter-attempts': 3 });
        expect(dead.headers?.['x-dead-letter-reason']).to.match(/gave up after 3 attempts/);
        expect(await consumer.count('retried')).to.equal(2);
        expect(await order(orderId)).to.include({ status: 'PENDING', version: 1 });
        expect(await inbox(orderId)).to.have.length(0);

        proxy.restore();
        await publisher.send(paymentEvent(orderId, 'FAILED'));
        await waitFor(async () => (await order(orderId)).status === 'FAILED', { timeoutMs: 20_000, what: 'the next event applied' });
      } finally {
        await consumer.stop();
        await proxy.close();
      }
    });
  });
});
