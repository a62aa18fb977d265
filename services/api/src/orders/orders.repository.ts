import { sql, type Insertable, type Transaction } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DB, Db, OrderItems, Orders, Outbox } from '@order-service/shared';

type Executor = Db | Transaction<DB>;

/** Catalog prices of the given products; products that do not exist are simply absent. */
export function findProductPrices(db: Executor, productIds: string[]) {
  return db
    .selectFrom('products')
    .select(['product_id', 'price'])
    .where('product_id', '=', sql<string>`any(${productIds}::uuid[])`)
    .execute();
}

/**
 * Writes the order, its items and its outbox row in one statement (data-modifying CTEs are
 * atomic, and the caller's transaction spans it). The outbox trigger notifies the relay.
 */
export async function insertOrderWithEvent(
  trx: Transaction<DB>,
  order: Insertable<Orders>,
  items: Insertable<OrderItems>[],
  event: Insertable<Outbox>,
): Promise<void> {
  await trx
    .with('new_order', (qc) => qc.insertInto('orders').values(order))
    .with('new_items', (qc) => qc.insertInto('order_items').values(items))
    .insertInto('outbox')
    .values(event)
    .execute();
}

/** An Idempotency-Key is scoped to its customer: another customer's use of the same key is another key. */
export interface IdempotencyScope {
  customerId: string;
  key: string;
}

/**
 * Claims a customer's Idempotency-Key for a new order. Returns false when the key is taken; a
 * racing transaction holding the same key makes this wait until it commits or rolls back.
 */
export async function claimIdempotencyKey(trx: Transaction<DB>, { customerId, key }: IdempotencyScope, requestHash: string, orderId: string) {
  const claimed = await trx
    .insertInto('idempotency_keys')
    .values({ customer_id: customerId, idempotency_key: key, request_hash: requestHash, order_id: orderId })
    .onConflict((oc) => oc.columns(['customer_id', 'idempotency_key']).doNothing())
    .returning('order_id')
    .executeTakeFirst();
  return claimed !== undefined;
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

/** An order with its items in line order, in one round trip. */
export function findOrder(db: Executor, orderId: string) {
  return db
    .selectFrom('orders as o')
    .select((eb) => [
      'o.order_id',
      'o.customer_id',
      'o.status',
      'o.shipping_address',
      'o.total_amount',
      'o.version',
      'o.created_at',
      'o.updated_at',
      jsonArrayFrom(
        eb
          .selectFrom('order_items as i')
          .select(['i.item_id', 'i.product_id', 'i.quantity', sql<string>`i.price::text`.as('price')])
          .whereRef('i.order_id', '=', 'o.order_id')
          .orderBy('i.line_number'),
      ).as('items'),
    ])
    .where('o.order_id', '=', orderId)
    .executeTakeFirst();
}
