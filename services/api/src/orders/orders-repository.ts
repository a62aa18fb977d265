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

/**
 * The whole order in one statement, so one round trip (data-modifying CTEs commit or fail
 * together, and a lone statement needs no BEGIN or COMMIT). It writes nothing unless every line's
 * price is still the catalog's (`prices_match`), and, with a key, only if this statement claimed
 * the key: a racing retry waits on the key's row and then finds it taken (`created` false).
 */
const INSERT_ORDER = `
  WITH lines AS (
    SELECT l.product_id, l.quantity, l.price, l.line_number::int AS line_number
    FROM unnest($6::uuid[], $7::int[], $8::numeric[]) WITH ORDINALITY AS l (product_id, quantity, price, line_number)
  ), checked AS (
    SELECT count(*) = cardinality($6::uuid[]) AS ok FROM lines l JOIN products p ON p.product_id = l.product_id AND p.price = l.price
  ), claimed AS (
    INSERT INTO idempotency_keys (customer_id, idempotency_key, request_hash, order_id)
    SELECT $2, $14, $15, $1 FROM checked WHERE ok AND $14::text IS NOT NULL
    ON CONFLICT (customer_id, idempotency_key) DO NOTHING
    RETURNING order_id
  ), new_order AS (
    INSERT INTO orders (order_id, customer_id, shipping_address, total_amount, created_at, updated_at)
    SELECT $1, $2, $3, $4, $5, $5 FROM checked WHERE ok AND ($14::text IS NULL OR EXISTS (SELECT 1 FROM claimed))
    RETURNING order_id
  ), new_items AS (
    INSERT INTO order_items (order_id, line_number, product_id, quantity, price)
    SELECT o.order_id, l.line_number, l.product_id, l.quantity, l.price FROM new_order o CROSS JOIN lines l
  ), new_event AS (
    INSERT INTO outbox (event_id, event_type, aggregate_id, exchange, routing_key, payload, traceparent, tracestate)
    SELECT $9, $10, o.order_id, $11, $12, $13, $16, $17 FROM new_order o
  )
  SELECT (SELECT ok FROM checked) AS prices_match, EXISTS (SELECT 1 FROM new_order) AS created`;

export async function insertOrder(db: Db, { order, lines, event, key }: NewOrder): Promise<{ pricesMatch: boolean; created: boolean }> {
  const [row] = await preparedQuery<{ prices_match: boolean; created: boolean }>(db, 'insert-order', INSERT_ORDER, [
    order.order_id,
    order.customer_id,
    order.shipping_address,
    order.total_amount,
    order.created_at,
    lines.map((line) => line.product_id),
    lines.map((line) => line.quantity),
    lines.map((line) => line.price),
    event.event_id,
    event.event_type,
    event.exchange,
    event.routing_key,
    event.payload,
    key?.idempotency_key ?? null,
    key?.request_hash ?? null,
    event.traceparent,
    event.tracestate,
  ]);
  return { pricesMatch: row!.prices_match, created: row!.created };
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
