import { createHash, randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { placeOrder } from '@order-service/api/orders/place-order';
import { createPriceCache } from '@order-service/api/products/price-cache';
import { applyPayment } from '@order-service/consumer/apply-payment';
import { PAYMENT_PROCESSED, cloudEventOf, systemClock, type Db, type PaymentProcessed } from '@order-service/shared';
import { captureDb, toPgbenchScript } from './capture-sql';

/** Two catalog products (seeded by the catalog migration): every bench order has these 2 items. */
const ESPRESSO = { product_id: '11111111-1111-4111-8111-111111111111', price: '24.90' };
const MUG = { product_id: '33333333-3333-4333-8333-333333333333', price: '12.50' };

/** The body every POST of the bench sends: an order with 2 items. */
export function orderBody() {
  return {
    customer_id: '0d6f6b86-9c1b-4b8e-8c33-4a1c1b7a2f10',
    shipping_address: '1 Benchmark Street, 12345 Loadtown',
    items: [
      { product_id: ESPRESSO.product_id, quantity: 2 },
      { product_id: MUG.product_id, quantity: 1 },
    ],
  };
}

/**
 * The POST /api/orders transaction as a pgbench script: the API's own placeOrder runs against a
 * recording driver, so the script has the same statements, in the same transaction, with the
 * same parameters; only the order and event ids are new per transaction (gen_random_uuid()).
 * Also returns the OrderCreated payload it wrote, as a template for outbox backlogs.
 */
export async function capturePostOrder() {
  const { db, statements } = captureDb((statement) =>
    statement.sql.includes('"products"') ? [ESPRESSO, MUG] : [{ prices_match: true, created: true }],
  );
  // As the running API does: prices come from its cache, so only the order's own statement is sent.
  const prices = createPriceCache(db);
  await prices.pricesOf([ESPRESSO.product_id, MUG.product_id]);
  statements.length = 0;
  const { response } = await placeOrder(db, orderBody(), systemClock, { prices });
  const outboxInsert = statements.find((statement) => statement.sql.includes('INSERT INTO outbox'));
  // The statement takes a list of orders: each column is an array, here of one.
  const isPayload = (value: unknown): value is string => typeof value === 'string' && value.startsWith('{"specversion"');
  const payload = outboxInsert?.parameters.flat().find(isPayload);
  if (!payload) throw new Error('placeOrder did not write an OrderCreated payload to the outbox');
  const eventId = (JSON.parse(payload) as { id: string }).id;
  const { script, variables } = toPgbenchScript(
    statements,
    [
      { value: response.order_id, expression: '(select order_id from ids)' },
      { value: eventId, expression: '(select event_id from ids)' },
    ],
    'ids as (select gen_random_uuid() as order_id, gen_random_uuid() as event_id)',
  );
  const template = payload.replaceAll(response.order_id, '__ORDER__').replaceAll(eventId, '__EVENT__');
  return { script, variables, payloadTemplate: template };
}

/** An OrderCreated body like the API writes, with fresh ids. */
export function orderCreatedBody(template: string): { body: string; eventId: string; orderId: string } {
  const eventId = randomUUID();
  const orderId = randomUUID();
  return { body: template.replaceAll('__EVENT__', eventId).replaceAll('__ORDER__', orderId), eventId, orderId };
}

/**
 * Writes `count` pending outbox rows (OrderCreated, the API's payload with fresh ids) in one
 * statement, so they all become visible to the relay at one commit.
 */
export async function insertOutboxBacklog(db: Db, count: number, payloadTemplate: string): Promise<void> {
  await sql`
    with rows as (select gen_random_uuid() as event_id, gen_random_uuid() as order_id from generate_series(1, ${count}))
    insert into outbox (event_id, event_type, aggregate_id, exchange, routing_key, payload)
    select event_id, 'OrderCreated', order_id, 'orders', 'order.created',
           replace(replace(${payloadTemplate}::text, '__EVENT__', event_id::text), '__ORDER__', order_id::text)::json
    from rows`.execute(db);
}

/**
 * The consumer's transaction as a pgbench script, captured from applyPayment itself. Each
 * pgbench client applies a payment to its own PENDING orders in turn: order ids are
 * md5(run-client-n), inserted beforehand by insertPgbenchOrders; the event id is fresh.
 */
export async function captureApplyPayment() {
  const orderId = randomUUID();
  const eventId = randomUUID();
  const { db, statements } = captureDb(() => [
    {
      event_id: eventId,
      outcome: 'applied',
      new_version: 2,
      created_at: new Date(),
      current_status: 'PENDING',
      current_version: 1,
      amount_matches: true,
      seen_before: false,
    },
  ]);
  await applyPayment(db, paymentProcessed(orderId, eventId));
  return toPgbenchScript(
    statements,
    [
      { value: orderId, expression: '(select order_id from ids)' },
      { value: eventId, expression: '(select event_id from ids)' },
    ],
    `ids as (select md5(concat(:run::text, '-', :client_id::text, '-', :n::text))::uuid as order_id, gen_random_uuid() as event_id)`,
    ['\\set n :n + 1'],
  );
}

/** A PaymentProcessed event (a successful payment) as the payment side sends it. */
export function paymentProcessed(orderId: string, eventId = randomUUID()): PaymentProcessed {
  return cloudEventOf({
    type: PAYMENT_PROCESSED,
    source: '/bench/payments',
    id: eventId,
    data: { order_id: orderId, payment_id: `pay_${eventId.slice(0, 8)}`, status: 'SUCCEEDED', amount: 62.3 },
  });
}

/** Inserts PENDING orders (with their 2 items), for the consumer to apply payments to. */
export async function insertPendingOrders(db: Db, orderIds: string[]): Promise<void> {
  await sql`
    with new_orders as (
      insert into orders (order_id, customer_id, shipping_address, total_amount)
      select id, ${orderBody().customer_id}::uuid, 'bench', 62.30 from unnest(${orderIds}::uuid[]) as id
      returning order_id)
    insert into order_items (order_id, line_number, product_id, quantity, price)
    select order_id, line, case line when 1 then ${ESPRESSO.product_id}::uuid else ${MUG.product_id}::uuid end,
           3 - line, case line when 1 then 24.90 else 12.50 end
    from new_orders, generate_series(1, 2) as line`.execute(db);
}

/** The orders a pgbench run of captureApplyPayment's script updates: md5(run-client-n) for each client and n. */
export function pgbenchOrderIds(run: string, clients: number, perClient: number): string[] {
  const ids: string[] = [];
  for (let client = 0; client < clients; client++) {
    for (let n = 1; n <= perClient; n++) {
      const hex = createHash('md5').update(`${run}-${client}-${n}`).digest('hex');
      ids.push(`${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`);
    }
  }
  return ids;
}
