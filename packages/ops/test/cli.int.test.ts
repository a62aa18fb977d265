import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import pg from 'pg';
import { Connection } from 'rabbitmq-client';
import { AMQP_CLIENT_OPTIONS, PAYMENT_PROCESSED, Topology, cloudEventOf, createLogger, createRedis, declarePaymentTopology, invalidateOrder } from '@order-service/shared';
import {
  createTestDatabase,
  createTestVhost,
  startService,
  waitFor,
  type ServiceProcess,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { json, runOps } from './support';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const ESPRESSO = '11111111-1111-4111-8111-111111111111';

describe('pnpm ops (the CLI as a child process)', function () {
  this.timeout(120_000);

  let database: TestDatabase;
  let vhost: TestVhost;
  let api: ServiceProcess;
  let env: Record<string, string>;

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('ops'), createTestVhost('ops')]);
    api = await startService('services/api/src/main.ts', {
      DATABASE_URL: database.url,
      RABBITMQ_URL: vhost.url,
      REDIS_URL,
      PORT: '0',
      API_RATE_LIMIT_ENABLED: 'false',
    });
    env = {
      DATABASE_URL: database.url,
      RABBITMQ_URL: vhost.url,
      REDIS_URL,
      OPS_API_URL: `http://127.0.0.1:${api.port}`,
      OPS_RELAY_URLS: '',
      OPS_CONSUMER_URLS: '',
      OPS_TIMEOUT_MS: '5000',
    };
  });

  after(async () => {
    await api?.stop();
    await Promise.allSettled([database?.drop(), vhost?.drop()]);
  });

  async function placeOrder(headers: Record<string, string> = {}): Promise<string> {
    const response = await fetch(`http://127.0.0.1:${api.port}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ customer_id: randomUUID(), items: [{ product_id: ESPRESSO, quantity: 2 }], shipping_address: 'Main St 1' }),
    });
    expect(response.status).to.equal(201);
    return ((await response.json()) as { order_id: string }).order_id;
  }

  /** Parks the outbox row of an order, as the relay does after its last failed attempt. */
  async function park(orderId: string): Promise<string> {
    const row = await database.db
      .updateTable('outbox')
      .set({ parked_at: sql<Date>`now()`, attempts: 10, last_error: 'NOT_FOUND: no exchange orders' })
      .where('aggregate_id', '=', orderId)
      .returning('id')
      .executeTakeFirstOrThrow();
    return String(row.id);
  }

  /** Publishes the outbox row of an order, as the relay does once the broker confirmed it: the row leaves, a record stays. */
  async function publish(orderId: string, publishedAt: Date = new Date()): Promise<void> {
    await database.db.transaction().execute(async (trx) => {
      const row = await trx
        .deleteFrom('outbox')
        .where('aggregate_id', '=', orderId)
        .returning(['id', 'event_id', 'event_type', 'aggregate_id', 'exchange', 'routing_key', 'traceparent', 'tracestate', 'created_at'])
        .executeTakeFirstOrThrow();
      await trx.insertInto('outbox_published').values({ ...row, attempts: 1, published_at: publishedAt }).execute();
    });
  }

  describe('usage and exit codes', () => {
    it('exits 2 with the usage for a missing or unknown command, an unknown option or a malformed argument', async () => {
      const runs = await Promise.all([
        runOps([], env),
        runOps(['frobnicate'], env),
        runOps(['outbox', 'parked', '--bogus'], env),
        runOps(['trace', 'not-a-uuid'], env),
        runOps(['dlq', 'redrive', '--limit', '0'], env),
        runOps(['status'], { ...env, OPS_TIMEOUT_MS: 'soon' }),
      ]);
      for (const run of runs) expect(run.code, run.stderr).to.equal(2);
      expect(runs[1]!.stderr).to.include('unknown command: frobnicate').and.include('Usage: pnpm ops');
      expect(runs[3]!.stderr).to.include('not an order id');
      expect(runs[5]!.stderr).to.include('OPS_TIMEOUT_MS');
    });

    it('--help prints every command and exits 0', async () => {
      const run = await runOps(['--help'], env);
      expect(run.code).to.equal(0);
      for (const command of ['status', 'outbox parked', 'outbox redrive', 'dlq list', 'dlq redrive', 'trace']) {
        expect(run.stdout).to.include(command);
      }
    });

    it('exits 1 and says why when a dependency cannot be reached', async () => {
      const run = await runOps(['outbox', 'parked', '--json'], { ...env, DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere' });
      expect(run.code).to.equal(1);
      expect(json(run).error).to.match(/ECONNREFUSED/);
      expect(run.stderr).to.match(/^ops: /);
    });
  });

  describe('outbox', () => {
    it('lists parked rows with their last error, in a table and as JSON', async () => {
      const orderId = await placeOrder();
      const id = await park(orderId);
      const [text, asJson] = await Promise.all([runOps(['outbox', 'parked'], env), runOps(['outbox', 'parked', '--json'], env)]);
      expect(text.code).to.equal(0);
      expect(text.stdout).to.match(/ID\s+EVENT\s+TYPE\s+ORDER/);
      expect(text.stdout).to.include(orderId).and.include('NOT_FOUND: no exchange orders');
      const data = json<{ count: number; rows: Array<{ id: string; order_id: string; attempts: number }> }>(asJson);
      expect(data.rows.find((row) => row.id === id)).to.include({ order_id: orderId, attempts: 10 });
    });

    it('redrives one parked row: attempts reset, due now, error kept, and listening relays are notified', async () => {
      const orderId = await placeOrder();
      const id = await park(orderId);
      const listener = new pg.Client({ connectionString: database.url });
      await listener.connect();
      const notifications: string[] = [];
      listener.on('notification', (message) => notifications.push(message.channel));
      await listener.query('LISTEN outbox');
      try {
        const run = await runOps(['outbox', 'redrive', id, '--json'], env);
        expect(run.code, run.stderr).to.equal(0);
        const data = json<{ redriven: Array<{ id: string; order_id: string }>; not_parked: string[] }>(run);
        expect(data.redriven.map((row) => ({ id: row.id, order_id: row.order_id }))).to.deep.equal([{ id, order_id: orderId }]);
        expect(data.not_parked).to.deep.equal([]);
        await waitFor(() => notifications.includes('outbox'), { timeoutMs: 10_000, what: 'the outbox NOTIFY' });
      } finally {
        await listener.end();
      }
      const row = await database.db
        .selectFrom('outbox')
        .select(['parked_at', 'attempts', 'last_error', sql<boolean>`next_attempt_at <= now()`.as('due')])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      expect(row).to.deep.equal({ parked_at: null, attempts: 0, last_error: 'NOT_FOUND: no exchange orders', due: true });
    });

    it('exits 3 for an id that is not a parked row, and --all redrives every parked row', async () => {
      const ids = [await park(await placeOrder()), await park(await placeOrder())];
      const missing = await runOps(['outbox', 'redrive', '999999999'], env);
      expect(missing.code).to.equal(3);
      expect(missing.stdout).to.include('Not parked').and.include('999999999');

      const all = await runOps(['outbox', 'redrive', '--all', '--clear-error'], env);
      expect(all.code, all.stderr).to.equal(0);
      expect(all.stdout).to.match(/Redriven \d+ row\(s\)/);
      const left = await database.db.selectFrom('outbox').select(['id', 'last_error']).where('parked_at', 'is not', null).execute();
      expect(left).to.deep.equal([]);
      const redriven = await database.db.selectFrom('outbox').select('last_error').where('id', 'in', ids).execute();
      expect(redriven.map((row) => row.last_error)).to.deep.equal([null, null]);
    });
  });

  describe('outbox republish', () => {
    it('puts the OrderCreated events published in a window back in the outbox, made again from their orders with their original ids and text', async () => {
      const [inWindow, traced, before] = [await placeOrder(), await placeOrder({ traceparent: TRACEPARENT }), await placeOrder()];
      const original = await database.db
        .selectFrom('outbox')
        .select(['aggregate_id', 'event_id', 'traceparent', 'tracestate', sql<string>`payload::text`.as('payload')])
        .where('aggregate_id', 'in', [inWindow, traced])
        .orderBy('id')
        .execute();
      const since = new Date(Date.now() - 60_000);
      await publish(before, new Date(since.getTime() - 60_000));
      await Promise.all([publish(inWindow), publish(traced)]);

      const run = await runOps(['outbox', 'republish', '--since', since.toISOString(), '--json'], env);
      expect(run.code, run.stderr).to.equal(0);
      expect(json<{ records: number; republished: number }>(run)).to.include({ records: 2, republished: 2 });
      const again = await database.db
        .selectFrom('outbox')
        .select(['aggregate_id', 'event_id', 'traceparent', 'tracestate', sql<string>`payload::text`.as('payload')])
        .where('aggregate_id', 'in', [inWindow, traced, before])
        .orderBy('id')
        .execute();
      expect(again).to.deep.equal(original);

      // Run twice, it writes nothing more: the events are already waiting.
      const twice = await runOps(['outbox', 'republish', '--since', since.toISOString()], env);
      expect(twice.code, twice.stderr).to.equal(0);
      expect(twice.stdout).to.include('Put 0 OrderCreated event(s) back').and.include('2 were in the outbox already');
      await database.db.deleteFrom('outbox').where('aggregate_id', 'in', [inWindow, traced]).execute();
    });

    it('reads its window in pages and slices: every record in [since, until) once, none after, and says which orders are gone', async () => {
      const orders = [await placeOrder(), await placeOrder(), await placeOrder()];
      const start = new Date(Date.now() - 3_600_000);
      // One record per 25 s from `start` (across the 10 s slices), then one after `until`, and one whose order is gone.
      for (const [index, orderId] of orders.entries()) await publish(orderId, new Date(start.getTime() + index * 25_000));
      const later = await placeOrder();
      await publish(later, new Date(start.getTime() + 120_000));
      await database.db
        .insertInto('outbox_published')
        .values({ id: '999999999', event_id: randomUUID(), event_type: 'OrderCreated', aggregate_id: randomUUID(), exchange: 'orders', routing_key: 'order.created', created_at: start, attempts: 1, published_at: new Date(start.getTime() + 1_000) })
        .execute();
      const { republishPublished } = await import('../src/outbox');
      const result = await republishPublished(database.db, { since: start, until: new Date(start.getTime() + 100_000) }, 1);
      expect(result.data).to.include({ records: 4, republished: 3, without_order: 1 });
      expect(result.text).to.include('1 record(s) name an order that is not in the database');
      const back = await database.db.selectFrom('outbox').select('aggregate_id').where('aggregate_id', 'in', [...orders, later]).orderBy('id').execute();
      expect(back.map((row) => row.aggregate_id)).to.deep.equal(orders);
      await database.db.deleteFrom('outbox').where('aggregate_id', 'in', orders).execute();
      await database.db.deleteFrom('outbox_published').where('id', '=', '999999999').execute();
    });

    it('exits 2 without --since, or for a time it cannot read, a time without its zone or an empty window', async () => {
      const runs = await Promise.all([
        runOps(['outbox', 'republish'], env),
        runOps(['outbox', 'republish', '--since', 'yesterday-ish'], env),
        runOps(['outbox', 'republish', '--since', '2026-12-03T10:00:00Z', '--until', '2026-12-03T09:00:00Z'], env),
        runOps(['outbox', 'republish', '--since', '2026-12-03T10:00'], env),
      ]);
      expect(runs.map((r) => r.code)).to.deep.equal([2, 2, 2, 2]);
      expect(runs[0]!.stderr).to.include('--since is required');
      expect(runs[1]!.stderr).to.include('--since must be an ISO 8601 time');
      expect(runs[3]!.stderr, 'a time without its zone').to.include('--since must be an ISO 8601 time');
      expect(runs[2]!.stderr).to.include('--since must be before --until');
    });
  });

  describe('dlq', () => {
    let connection: Connection;

    before(async () => {
      connection = new Connection({ ...AMQP_CLIENT_OPTIONS, url: vhost.url, connectionName: 'ops-test' });
      await connection.onConnect(10_000);
    });

    after(async () => {
      await connection?.close();
    });

    async function depth(queue: string) {
      return (await connection.queueDeclare({ queue, passive: true })).messageCount;
    }

    /** A dead letter as the consumer writes it (services/consumer/src/republish.ts). */
    async function deadLetter(publisher: ReturnType<Connection['createPublisher']>, code: string, reason: string) {
      const eventId = randomUUID();
      const orderId = randomUUID();
      const event = cloudEventOf({
        type: PAYMENT_PROCESSED,
        source: '/payments',
        id: eventId,
        data: { order_id: orderId, payment_id: 'pay_1', status: 'SUCCEEDED', amount: 49.8 },
      });
      // Laid out as no serialiser would, so that a redrive that re-serialises shows.
      const body = Buffer.from(`${JSON.stringify(event, null, 3)}\n`);
      await publisher.send(
        {
          exchange: Topology.paymentDeadLetterExchange,
          routingKey: Topology.paymentDlq,
          durable: true,
          contentType: 'application/json',
          messageId: eventId,
          correlationId: orderId,
          headers: {
            traceparent: TRACEPARENT,
            'x-dead-letter-reason': reason,
            'x-dead-letter-code': code,
            'x-dead-letter-attempts': 1,
            'x-dead-lettered-at': new Date().toISOString(),
            'x-original-exchange': Topology.paymentsExchange,
            'x-original-routing-key': Topology.paymentProcessedKey,
            'x-original-queue': Topology.paymentQueue,
          },
        },
        body,
      );
      return { eventId, orderId, body };
    }

    it('exits 3 when the dead-letter queue was never declared', async () => {
      const run = await runOps(['dlq', 'list'], env);
      expect(run.code).to.equal(3);
      expect(run.stdout).to.include('does not exist yet');
    });

    /** The consumer's topology, declared here as the consumer declares it: the consumer need not run. */
    const declareConsumerTopology = () => declarePaymentTopology(connection);

    it('lists dead letters with their reasons without removing them, then redrives them back to the queue', async () => {
      await declareConsumerTopology();
      const publisher = connection.createPublisher({ confirm: true });
      const first = await deadLetter(publisher, 'unknown-order', 'unknown order (still unknown after 10000 ms)');
      const second = await deadLetter(publisher, 'invalid-message', 'invalid PaymentProcessed event: data.amount: Invalid type');
      await publisher.close();
      await waitFor(async () => (await depth(Topology.paymentDlq)) === 2, { what: 'two dead letters' });

      const list = await runOps(['dlq', 'list'], env);
      expect(list.code, list.stderr).to.equal(0);
      expect(list.stdout).to.include(first.eventId).and.include('unknown-order').and.include(second.orderId).and.include('invalid-message');
      const listed = json<{ depth: number; messages: Array<{ message_id: string; reason: string; body: { id: string } }> }>(
        await runOps(['dlq', 'list', '--json'], env),
      );
      expect(listed.depth).to.equal(2);
      expect(listed.messages.map((m) => m.message_id)).to.have.members([first.eventId, second.eventId]);
      expect(listed.messages.find((m) => m.message_id === second.eventId)?.reason).to.include('data.amount');
      await waitFor(async () => (await depth(Topology.paymentDlq)) === 2, { what: 'browsing to leave the DLQ as it was' });

      const one = await runOps(['dlq', 'redrive', '--limit', '1', '--json'], env);
      expect(one.code, one.stderr).to.equal(0);
      expect(json(one).redriven).to.equal(1);
      await waitFor(async () => (await depth(Topology.paymentDlq)) === 1 && (await depth(Topology.paymentQueue)) === 1, {
        what: 'one message moved',
      });

      const rest = await runOps(['dlq', 'redrive'], env);
      expect(rest.code, rest.stderr).to.equal(0);
      expect(rest.stdout).to.include('Redriven 1 message(s) to order-service.payment-processed');
      await waitFor(async () => (await depth(Topology.paymentDlq)) === 0 && (await depth(Topology.paymentQueue)) === 2, {
        what: 'every message moved',
      });

      // What the consumer gets back: the same event and properties, without the dead-letter marks.
      const moved = [];
      for (let i = 0; i < 2; i++) {
        const msg = await connection.basicGet({ queue: Topology.paymentQueue, noAck: true });
        moved.push(msg!);
      }
      const again = moved.find((msg) => msg.messageId === first.eventId)!;
      expect(again.correlationId).to.equal(first.orderId);
      expect(again.contentType).to.equal('application/json');
      expect((again.body as Buffer).equals(first.body), 'the original bytes').to.equal(true);
      expect(again.headers).to.include({ traceparent: TRACEPARENT, 'x-redrive-count': 1 });
      expect(again.headers).not.to.have.any.keys('x-dead-letter-reason', 'x-dead-letter-code', 'x-original-queue');
    });

    it('a redrive shows its progress on stderr as it goes, and stdout holds only the result', async () => {
      await declareConsumerTopology();
      await connection.queuePurge({ queue: Topology.paymentQueue });
      const count = 12;
      const publisher = connection.createPublisher({ confirm: true });
      for (let i = 0; i < count; i++) await deadLetter(publisher, 'max-attempts', 'database unavailable');
      await publisher.close();
      await waitFor(async () => (await depth(Topology.paymentDlq)) === count, { what: 'the dead letters' });

      // An interval of 0 writes a line per message, so the test waits on no clock.
      const run = await runOps(['dlq', 'redrive', '--json'], { ...env, OPS_PROGRESS_INTERVAL_MS: '0' });
      expect(run.code, run.stderr).to.equal(0);
      expect(json(run).redriven).to.equal(count);
      const lines = run.stderr.trimEnd().split('\n');
      for (const line of lines) expect(line).to.match(new RegExp(`^dlq redrive: \\d+/${count} \\(\\d+%\\), `));
      const done = lines.map((line) => Number(/: (\d+)\//.exec(line)![1]));
      expect(done.slice(0, count + 1)).to.deep.equal(Array.from({ length: count + 1 }, (_, i) => i));
      expect(lines.at(-1)).to.match(new RegExp(`: ${count}/${count} \\(100%\\)`));
      await waitFor(async () => (await depth(Topology.paymentQueue)) === count, { what: 'every message moved' });
      await connection.queuePurge({ queue: Topology.paymentQueue });
    });
  });

  describe('trace', () => {
    it("tells an order's story: order, outbox row, status change, inbox entry and cache entry", async () => {
      const orderId = await placeOrder({ traceparent: TRACEPARENT });
      // The API caches the order on read (version 1); then "the relay" publishes and "the consumer" applies.
      await fetch(`http://127.0.0.1:${api.port}/api/orders/${orderId}`);
      const eventId = randomUUID();
      await publish(orderId);
      await database.db.transaction().execute(async (trx) => {
        await trx.updateTable('orders').set({ status: 'FAILED', version: 2, updated_at: sql<Date>`now()` }).where('order_id', '=', orderId).execute();
        await trx.insertInto('processed_events').values({ event_id: eventId, event_type: 'PaymentProcessed', order_id: orderId, outcome: 'applied' }).execute();
        await trx
          .insertInto('order_status_history')
          .values({ order_id: orderId, from_status: 'PENDING', to_status: 'FAILED', event_id: eventId, payment_id: 'pay_7', reason: 'card declined' })
          .execute();
      });
      const redis = createRedis(REDIS_URL, createLogger('test', 'silent'));
      try {
        await waitFor(() => redis.isReady, { what: 'redis' });
        await invalidateOrder(redis, orderId, 2, 60);
        const [text, asJson] = await Promise.all([runOps(['trace', orderId], env), runOps(['trace', orderId, '--json'], env)]);
        expect(text.code, text.stderr).to.equal(0);
        expect(text.stdout).to.include(`ORDER ${orderId}`).and.include('FAILED').and.include('OUTBOX').and.include('published');
        expect(text.stdout).to.include('PENDING -> FAILED').and.include('card declined').and.include(eventId);
        expect(text.stdout).to.include(`traceparent of row`).and.include(TRACEPARENT);
        expect(text.stdout).to.include('tombstone at version 2').and.include('TIMELINE');

        const data = json<{
          found: boolean;
          order: { status: string; version: number; items: unknown[] };
          outbox: Array<{ event_type: string; published_at: string | null; traceparent: string }>;
          status_history: Array<{ to_status: string; event_id: string }>;
          inbox: Array<{ event_id: string; outcome: string }>;
          cache: { state: string; version: number; stale: boolean };
        }>(asJson);
        expect(data.found).to.equal(true);
        expect(data.order).to.include({ status: 'FAILED', version: 2 });
        expect(data.order.items).to.have.length(1);
        expect(data.outbox).to.have.length(1);
        expect(data.outbox[0]).to.include({ event_type: 'OrderCreated', traceparent: TRACEPARENT });
        expect(data.outbox[0]!.published_at).to.be.a('string');
        expect(data.status_history).to.deep.equal([{ ...data.status_history[0], to_status: 'FAILED', event_id: eventId }]);
        expect(data.inbox).to.deep.equal([{ ...data.inbox[0], event_id: eventId, outcome: 'applied' }]);
        expect(data.cache).to.include({ state: 'tombstone', version: 2, stale: false });
      } finally {
        await redis.del(`order:${orderId}`);
        await redis.close();
      }
    });

    it('exits 3 for an order that does not exist', async () => {
      const run = await runOps(['trace', randomUUID(), '--json'], env);
      expect(run.code).to.equal(3);
      expect(json(run)).to.include({ found: false, order: null });
    });
  });

  describe('status', () => {
    it('reports the backlog, parked rows, queues, inbox and readiness, and exits 0 when all is well', async () => {
      await park(await placeOrder());
      const run = await runOps(['status', '--json'], env);
      const data = json<{
        healthy: boolean;
        outbox: { ok: boolean; backlog: number; parked: number; oldest_age_seconds: number };
        queues: { ok: boolean; dlq: { messages: number } };
        inbox: { ok: boolean; size: number };
        processes: Array<{ process: string; status: string }>;
        attention: string[];
      }>(run);
      expect(run.code, run.stdout).to.equal(0);
      expect(data.healthy).to.equal(true);
      expect(data.outbox.ok).to.equal(true);
      expect(data.outbox.backlog).to.be.greaterThan(0);
      expect(data.outbox.parked).to.equal(1);
      expect(data.outbox.oldest_age_seconds).to.be.a('number');
      expect(data.queues).to.include({ ok: true });
      expect(data.inbox).to.include({ ok: true });
      expect(data.processes).to.deep.equal([{ ...data.processes[0], process: 'api', status: 'ready' }]);
      expect(data.attention.join('\n')).to.include('parked');

      const text = await runOps(['status'], env);
      expect(text.stdout).to.match(/OUTBOX\n\s+backlog\s+\d+/).and.include('HEALTHY');
    });

    it('exits 3 and names the process when one is not reachable', async () => {
      const run = await runOps(['status'], { ...env, OPS_RELAY_URLS: 'http://127.0.0.1:1' });
      expect(run.code).to.equal(3);
      expect(run.stdout).to.include('UNHEALTHY').and.match(/relay\s+http:\/\/127\.0\.0\.1:1\s+unreachable/);
    });
  });
});
