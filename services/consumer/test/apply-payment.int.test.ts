import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import pg from 'pg';
import * as v from 'valibot';
import { PaymentProcessed, createDb, findOrderWithItems, type Db, type SessionSettings } from '@order-service/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@order-service/testkit';
import { createApplyBatcher } from '../src/apply-batcher';
import { APPLY_PAYMENTS, applyPayment, applyPayments } from '../src/apply-payment';
import { CONSUMER_SESSION } from '../src/config';
import { pruneInbox } from '../src/retention';
import { insertOrder, paymentEvent } from './support';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

describe('applyPayment (one statement: inbox + status + history)', function () {
  this.timeout(30_000);
  let database: TestDatabase;
  let racers: Db;

  const inbox = (orderId: string) => database.db.selectFrom('processed_events').selectAll().where('order_id', '=', orderId).execute();
  const history = (orderId: string) => database.db.selectFrom('order_status_history').selectAll().where('order_id', '=', orderId).execute();
  const orderRow = (orderId: string) => database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();

  before(async () => {
    database = await createTestDatabase('apply');
    racers = createDb(database.url, { max: 4, applicationName: 'apply-racer' });
  });
  after(async () => {
    await racers?.destroy();
    await database?.drop();
  });

  it('applies, then recognises the same event as a duplicate and a contrary one as ignored', async () => {
    const orderId = await insertOrder(database.db);
    const event = paymentEvent(orderId, 'SUCCEEDED');

    const applied = await applyPayment(database.db, event);
    expect(applied).to.include({ outcome: 'applied', version: 2 });
    expect(await applyPayment(database.db, event)).to.deep.equal({ outcome: 'duplicate', version: 2 });
    expect(await applyPayment(database.db, paymentEvent(orderId, 'FAILED'))).to.deep.equal({ outcome: 'ignored', status: 'PROCESSING' });
  });

  it('writes nothing for an unknown order', async () => {
    const event = paymentEvent('0b9a4c86-7d7a-4b8e-9f3e-3c1f2f6b7a10', 'FAILED');
    expect(await applyPayment(database.db, event)).to.deep.equal({ outcome: 'unknown-order' });
    const recorded = await database.db.selectFrom('processed_events').select('event_id').where('event_id', '=', event.id).execute();
    expect(recorded).to.have.length(0);
  });

  /** Runs two applies held behind a row lock, so they really run at the same moment. */
  async function race(orderId: string, first: PaymentProcessed, second: PaymentProcessed) {
    const locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM orders WHERE order_id = $1 FOR UPDATE', [orderId]);
      const racing = Promise.all([applyPayment(racers, first), applyPayment(racers, second)]);
      await waitFor(
        async () => {
          const { rows } = await sql<{ waiting: string }>`
            SELECT count(*) AS waiting FROM pg_stat_activity
            WHERE datname = current_database() AND application_name = 'apply-racer' AND wait_event_type = 'Lock'`.execute(database.db);
          return Number(rows[0]!.waiting) === 2;
        },
        { what: 'both statements to wait on the lock' },
      );
      await locker.query('COMMIT');
      return (await racing).map((result) => result.outcome).sort();
    } finally {
      await locker.end();
    }
  }

  it('two contrary events racing for one order leave exactly one transition', async () => {
    const orderId = await insertOrder(database.db);
    expect(await race(orderId, paymentEvent(orderId, 'SUCCEEDED'), paymentEvent(orderId, 'FAILED'))).to.deep.equal(['applied', 'ignored']);
    const history = await database.db.selectFrom('order_status_history').selectAll().where('order_id', '=', orderId).execute();
    expect(history).to.have.length(1);
    const order = await database.db.selectFrom('orders').selectAll().where('order_id', '=', orderId).executeTakeFirstOrThrow();
    expect(order).to.include({ status: history[0]!.to_status, version: 2 });
  });

  it('the same event delivered twice at once is applied once', async () => {
    const orderId = await insertOrder(database.db);
    const event = paymentEvent(orderId, 'FAILED');
    expect(await race(orderId, event, event)).to.deep.equal(['applied', 'duplicate']);
    const inbox = await database.db.selectFrom('processed_events').selectAll().where('order_id', '=', orderId).execute();
    expect(inbox).to.have.length(1);
  });

  it('prunes inbox rows older than the retention window and keeps the rest', async () => {
    const orderId = await insertOrder(database.db);
    const old = paymentEvent(orderId, 'SUCCEEDED');
    const recent = paymentEvent(orderId, 'FAILED');
    await applyPayment(database.db, old);
    await applyPayment(database.db, recent);
    await database.db
      .updateTable('processed_events')
      .set({ processed_at: sql`now() - interval '25 hours'` })
      .where('event_id', '=', old.id)
      .execute();

    expect(await pruneInbox(database.db, 24)).to.be.at.least(1);

    const left = await database.db.selectFrom('processed_events').select('event_id').where('order_id', '=', orderId).execute();
    expect(left.map((row) => row.event_id)).to.deep.equal([recent.id]);
    // A redelivery of the pruned event still changes nothing: the order has left PENDING.
    expect(await applyPayment(database.db, old)).to.include({ outcome: 'ignored' });
  });

  it('an amount that differs from the order total writes nothing, and the right amount still applies', async () => {
    const orderId = await insertOrder(database.db);
    for (const amount of [0.01, 12.49, 12.51, 125, 0]) {
      const result = await applyPayment(database.db, paymentEvent(orderId, 'SUCCEEDED', { amount }));
      expect(result, `amount ${amount}`).to.deep.equal({ outcome: 'amount-mismatch', orderTotal: '12.50' });
    }
    const failed = await applyPayment(database.db, paymentEvent(orderId, 'FAILED', { amount: 1 }));
    expect(failed, 'a FAILED payment is checked too').to.deep.equal({ outcome: 'amount-mismatch', orderTotal: '12.50' });
    expect(await inbox(orderId)).to.have.length(0);
    expect(await history(orderId)).to.have.length(0);
    expect(await orderRow(orderId)).to.include({ status: 'PENDING', version: 1 });

    expect(await applyPayment(database.db, paymentEvent(orderId, 'SUCCEEDED', { amount: 12.5 }))).to.include({ outcome: 'applied' });
  });

  it('an event id already handled is a duplicate even when its amount is wrong', async () => {
    const orderId = await insertOrder(database.db);
    const event = paymentEvent(orderId, 'SUCCEEDED');
    await applyPayment(database.db, event);
    const again = await applyPayment(database.db, { ...event, data: { ...event.data, amount: 99 } });
    expect(again).to.deep.equal({ outcome: 'duplicate', version: 2 });
  });

  /**
   * What a session made with `settings` does with APPLY_PAYMENTS while the tables grow: a first call
   * on small, analyzed tables (as autovacuum leaves them soon after a deploy), then 2,000 orders more
   * and a second call that applies one payment. Returns the tables that call read more than a few
   * rows of, and how many calls ran on the plan made once. `setUp` runs first in the session.
   */
  async function afterTheTablesGrew(settings: SessionSettings, setUp?: string) {
    const session = createDb(database.url, { max: 1, applicationName: 'apply-plan', ...settings });
    const call = (orderId: string, explain = '') =>
      sql.raw(`${explain} EXECUTE apply_plan(ARRAY[gen_random_uuid()], ARRAY['${orderId}'::uuid], ARRAY['PaymentProcessed'],
        ARRAY['PROCESSING'], ARRAY['pay-1'], ARRAY[NULL::text], ARRAY[10.00])`);
    try {
      if (setUp) await sql.raw(setUp).execute(session);
      await sql.raw(`PREPARE apply_plan AS ${APPLY_PAYMENTS}`).execute(session);
      await sql`ANALYZE orders, order_items, processed_events`.execute(session);
      await call(randomUUID()).execute(session);
      const beyond = new Set<string>();
      await sql`BEGIN`.execute(session);
      try {
        await sql`
          WITH grown AS (
            INSERT INTO orders (order_id, customer_id, shipping_address, total_amount)
            SELECT gen_random_uuid(), gen_random_uuid(), 'Grown', 10.00 FROM generate_series(1, 2000)
            RETURNING order_id
          )
          INSERT INTO processed_events (event_id, event_type, order_id, outcome)
          SELECT gen_random_uuid(), 'PaymentProcessed', order_id, 'applied' FROM grown`.execute(session);
        const orderId = randomUUID();
        await sql`INSERT INTO orders (order_id, customer_id, shipping_address, total_amount)
                  VALUES (${orderId}, gen_random_uuid(), 'Paid', 10.00)`.execute(session);
        const { rows } = await call(orderId, 'EXPLAIN (ANALYZE, FORMAT JSON)').execute(session);
        const walk = (node: PlanNode) => {
          if (node['Relation Name'] && node['Actual Rows'] * node['Actual Loops'] > 10) beyond.add(node['Relation Name']);
          node.Plans?.forEach(walk);
        };
        walk((rows[0] as { 'QUERY PLAN': Array<{ Plan: PlanNode }> })['QUERY PLAN'][0]!.Plan);
      } finally {
        await sql`ROLLBACK`.execute(session);
      }
      const { rows } = await sql<{ generic: string }>`
        SELECT generic_plans::text AS generic FROM pg_prepared_statements WHERE name = 'apply_plan'`.execute(session);
      return { tablesReadWhole: [...beyond].sort(), callsOnThePlanMadeOnce: Number(rows[0]!.generic) };
    } finally {
      await session.destroy();
    }
  }

  it('plans its statement once, by key: the plan made while the tables were small still reads only the rows of the call as they grow', async () => {
    // The control: a plan made once without the consumer's index-only rule scans the orders whole.
    const control = await afterTheTablesGrew({}, 'SET plan_cache_mode = force_generic_plan');
    expect(control.callsOnThePlanMadeOnce).to.equal(2);
    expect(control.tablesReadWhole).to.have.length.above(0);
    expect(await afterTheTablesGrew(CONSUMER_SESSION)).to.deep.equal({ tablesReadWhole: [], callsOnThePlanMadeOnce: 2 });
  });

  describe('in batches', () => {
    it('returns each order it changed as it now is, with its items in line order, as the API reads it', async () => {
      const orders = await Promise.all([insertOrder(database.db), insertOrder(database.db)]);
      const products = await database.db.selectFrom('products').select('product_id').limit(2).execute();
      await database.db
        .insertInto('order_items')
        .values([
          { order_id: orders[0]!, line_number: 2, product_id: products[0]!.product_id, quantity: 1, price: '2.50' },
          { order_id: orders[0]!, line_number: 1, product_id: products[1]!.product_id, quantity: 4, price: '2.50' },
        ])
        .execute();

      const results = await applyPayments(database.db, [paymentEvent(orders[0]!, 'SUCCEEDED'), paymentEvent(orders[1]!, 'FAILED')]);

      for (const [index, orderId] of orders.entries()) {
        const { version, ...read } = (await findOrderWithItems(database.db, orderId))!;
        expect(results[index]).to.deep.equal({ outcome: 'applied', version, order: read });
      }
      expect(results.map((result) => result.outcome === 'applied' && result.order.items.map((item) => item.line_number))).to.deep.equal([[1, 2], []]);
    });

    it('gives each event of a batch its own outcome', async () => {
      const [fresh, done, taken] = await Promise.all([insertOrder(database.db), insertOrder(database.db), insertOrder(database.db)]);
      const repeated = paymentEvent(done, 'SUCCEEDED');
      await applyPayment(database.db, repeated);
      await applyPayment(database.db, paymentEvent(taken, 'FAILED'));

      const results = await applyPayments(database.db, [
        paymentEvent(fresh, 'FAILED'),
        repeated,
        paymentEvent(taken, 'SUCCEEDED'),
        paymentEvent('7c9e6679-7425-40de-944b-e07fc1f90ae7', 'SUCCEEDED'),
      ]);

      expect(results.map((result) => result.outcome)).to.deep.equal(['applied', 'duplicate', 'ignored', 'unknown-order']);
      expect(results[2]).to.deep.equal({ outcome: 'ignored', status: 'FAILED' });
      const history = await database.db.selectFrom('order_status_history').select('order_id').where('order_id', 'in', [fresh, done, taken]).execute();
      expect(history).to.have.length(3);
    });

    it('ids that differ only in letter case are one event: one applies, the other is a duplicate', async () => {
      const apply = createApplyBatcher(database.db, { maxBatch: 50, waitMs: 0 });
      const orderId = await insertOrder(database.db);
      const lower = paymentEvent(orderId, 'SUCCEEDED');
      const upper = v.parse(PaymentProcessed, { ...paymentEvent(orderId.toUpperCase(), 'FAILED'), id: lower.id.toUpperCase() });
      const outcomes = (await Promise.all([apply(lower), apply(upper)])).map((result) => result.outcome);
      expect(outcomes).to.deep.equal(['applied', 'duplicate']);
      expect(await history(orderId)).to.have.length(1);
      expect(await orderRow(orderId)).to.include({ status: 'PROCESSING', version: 2 });
    });

    it('two batches sharing orders, in opposite order, leave one transition per order and do not deadlock', async () => {
      const orders = await Promise.all(Array.from({ length: 10 }, () => insertOrder(database.db)));
      const [first, second] = await Promise.all([
        applyPayments(racers, orders.map((orderId) => paymentEvent(orderId, 'SUCCEEDED'))),
        applyPayments(racers, [...orders].reverse().map((orderId) => paymentEvent(orderId, 'FAILED'))),
      ]);
      const outcomes = [...first, ...second].map((result) => result.outcome);
      expect(outcomes.filter((outcome) => outcome === 'applied')).to.have.length(10);
      expect(outcomes.filter((outcome) => outcome === 'ignored')).to.have.length(10);
      const history = await database.db.selectFrom('order_status_history').select('order_id').where('order_id', 'in', orders).execute();
      expect(history).to.have.length(10);
    });

    it('the batcher lets the first event wait for others to share its statement, and sends a full batch at once', async () => {
      const processedAt = async (orderId: string) =>
        (await database.db.selectFrom('processed_events').select('processed_at').where('order_id', '=', orderId).executeTakeFirstOrThrow()).processed_at.getTime();
      const [first, second, third, fourth] = await Promise.all(Array.from({ length: 4 }, () => insertOrder(database.db)));

      const waiting = createApplyBatcher(database.db, { maxBatch: 50, waitMs: 200 });
      const early = waiting(paymentEvent(first!, 'SUCCEEDED'));
      // A payment that comes a few milliseconds later joins the first one's statement (one transaction: one now()).
      await new Promise((resolve) => setTimeout(resolve, 5));
      await Promise.all([early, waiting(paymentEvent(second!, 'SUCCEEDED'))]);
      expect(await processedAt(second!)).to.equal(await processedAt(first!));

      // With a wait longer than the test's timeout, only a full batch can be applied in time.
      const full = createApplyBatcher(database.db, { maxBatch: 2, waitMs: 600_000 });
      const outcomes = await Promise.all([full(paymentEvent(third!, 'SUCCEEDED')), full(paymentEvent(fourth!, 'SUCCEEDED'))]);
      expect(outcomes.map((result) => result.outcome)).to.deep.equal(['applied', 'applied']);
    });

    it('the batcher keeps one event per order per statement, and isolates an event that cannot be written', async () => {
      const apply = createApplyBatcher(database.db, { maxBatch: 50, waitMs: 0 });
      const orderId = await insertOrder(database.db);
      const others = await Promise.all(Array.from({ length: 5 }, () => insertOrder(database.db)));
      const broken = { ...paymentEvent(others[0]!, 'FAILED'), data: { ...paymentEvent(others[0]!, 'FAILED').data, order_id: 'not-a-uuid' } };
      const event = paymentEvent(orderId, 'SUCCEEDED');

      const settled = await Promise.allSettled([
        apply(event),
        apply(event),
        apply(paymentEvent(orderId, 'FAILED')),
        apply(broken),
        ...others.map((id) => apply(paymentEvent(id, 'SUCCEEDED'))),
      ]);

      const outcomes = settled.map((result) => (result.status === 'fulfilled' ? result.value.outcome : 'error'));
      expect(outcomes).to.deep.equal(['applied', 'duplicate', 'ignored', 'error', 'applied', 'applied', 'applied', 'applied', 'applied']);
    });
  });
});
