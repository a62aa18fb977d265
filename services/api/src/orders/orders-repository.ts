import type { Transaction } from 'kysely';
import { preparedQuery, type DB, type Db, type OutboxRow } from '@order-service/shared';

type Executor = Db | Transaction<DB>;

/** Everything one order writes: the order, its priced lines, its OrderCreated row and, when given, its key. */
export interface NewOrder {
  order: { order_id: string; customer_id: string; shipping_address: string; total_amount: string; created_at: Date };
  /** In line order; `price` is the catalog price the total was computed with. */
  lines: Array<{ product_id: string; quantity: number; price: string }>;
  /** Its `aggregate_id` is the order's own id, which the statement writes from the order. */
  event: OutboxRow;
  key?: { idempotency_key: string; request_hash: string };
}

/** What writing one order found: whether its prices were still the catalog's, and whether it was created. */
export interface OrderWritten {
  pricesMatch: boolean;
  /** False when its prices changed, or when its Idempotency-Key was already taken. */
  created: boolean;
}

/**
 * Any number of orders in one statement, so one round trip and one commit for all of them
 * (data-modifying CTEs commit or fail together, and a lone statement needs no BEGIN or COMMIT).
 * Each order is decided on its own: it is written only if every one of its lines' prices is still
 * the catalog's (`prices_match`) and, with a key, only if this statement claimed the key. A
 * racing retry waits on the key's row and then finds it taken; two uses of one key in the same
 * statement create one order. Keys are claimed in key order, so two statements that claim the
 * same keys wait for each other instead of deadlocking. The answer has one row per order, in order.
 */
const INSERT_ORDERS = `
  WITH o AS (
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::numeric[], $5::timestamptz[], $6::text[], $7::text[],
                         $8::uuid[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[])
      WITH ORDINALITY AS o (order_id, customer_id, shipping_address, total_amount, created_at, idempotency_key, request_hash,
                            event_id, event_type, exchange, routing_key, payload, traceparent, tracestate, n)
  ), lines AS (
    SELECT * FROM unnest($15::int[], $16::int[], $17::uuid[], $18::int[], $19::numeric[]) AS l (n, line_number, product_id, quantity, price)
  ), checked AS (
    SELECT o.*, NOT EXISTS (
             SELECT 1 FROM lines l
             WHERE l.n = o.n AND NOT EXISTS (SELECT 1 FROM products p WHERE p.product_id = l.product_id AND p.price = l.price)
           ) AS ok
    FROM o
  ), claimed AS (
    INSERT INTO idempotency_keys (customer_id, idempotency_key, request_hash, order_id)
    SELECT customer_id, idempotency_key, request_hash, order_id FROM checked
    WHERE ok AND idempotency_key IS NOT NULL
    ORDER BY customer_id, idempotency_key
    ON CONFLICT (customer_id, idempotency_key) DO NOTHING
    RETURNING order_id
  ), created AS (
    SELECT * FROM checked WHERE ok AND (idempotency_key IS NULL OR order_id IN (SELECT order_id FROM claimed))
  ), new_orders AS (
    INSERT INTO orders (order_id, customer_id, shipping_address, total_amount, created_at, updated_at)
    SELECT order_id, customer_id, shipping_address, total_amount, created_at, created_at FROM created
  ), new_items AS (
    INSERT INTO order_items (order_id, line_number, product_id, quantity, price)
    SELECT c.order_id, l.line_number, l.product_id, l.quantity, l.price FROM created c JOIN lines l ON l.n = c.n
  ), new_events AS (
    INSERT INTO outbox (event_id, event_type, aggregate_id, exchange, routing_key, payload, traceparent, tracestate)
    SELECT event_id, event_type, order_id, exchange, routing_key, payload::json, traceparent, tracestate FROM created ORDER BY n
  )
  SELECT ok AS prices_match, order_id IN (SELECT order_id FROM created) AS created FROM checked ORDER BY n`;

/** Writes `orders` in one statement (see INSERT_ORDERS); what each found, in the same order. */
export async function insertOrders(db: Executor, orders: NewOrder[]): Promise<OrderWritten[]> {
  const lines = orders.flatMap(({ lines }, index) => lines.map((line, at) => ({ ...line, n: index + 1, line_number: at + 1 })));
  const column = <T>(pick: (order: NewOrder) => T) => orders.map(pick);
  const rows = await preparedQuery<{ prices_match: boolean; created: boolean }>(db, 'insert-orders', INSERT_ORDERS, [
    column((o) => o.order.order_id),
    column((o) => o.order.customer_id),
    column((o) => o.order.shipping_address),
    column((o) => o.order.total_amount),
    column((o) => o.order.created_at),
    column((o) => o.key?.idempotency_key ?? null),
    column((o) => o.key?.request_hash ?? null),
    column((o) => o.event.event_id),
    column((o) => o.event.event_type),
    column((o) => o.event.exchange),
    column((o) => o.event.routing_key),
    column((o) => o.event.payload),
    column((o) => o.event.traceparent),
    column((o) => o.event.tracestate),
    lines.map((line) => line.n),
    lines.map((line) => line.line_number),
    lines.map((line) => line.product_id),
    lines.map((line) => line.quantity),
    lines.map((line) => line.price),
  ]);
  return rows.map((row) => ({ pricesMatch: row.prices_match, created: row.created }));
}

/** Writes one order on its own (see insertOrders). */
export async function insertOrder(db: Executor, order: NewOrder): Promise<OrderWritten> {
  const [written] = await insertOrders(db, [order]);
  return written!;
}

/** An Idempotency-Key is scoped to its customer: another customer's use of the same key is another key. */
export interface IdempotencyScope {
  customerId: string;
  key: string;
}

/** The order a customer's Idempotency-Key created, with what the original 201 response was built from. */
export function findIdempotentOrder(db: Executor, { customerId, key }: IdempotencyScope) {
  return db
    .selectFrom('idempotency_keys as k')
    .innerJoin('orders as o', 'o.order_id', 'k.order_id')
    .select(['k.request_hash', 'o.order_id', 'o.total_amount', 'o.created_at'])
    .where('k.customer_id', '=', customerId)
    .where('k.idempotency_key', '=', key)
    .executeTakeFirst();
}
