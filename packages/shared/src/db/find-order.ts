import { sql, type Transaction } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DB } from './types';
import type { Db } from './index';

/**
 * An order with its items in line order, in one round trip: what GET /api/orders/{id} serves
 * and what `ops trace` shows. Amounts stay exact, as Postgres writes them.
 */
export function findOrderWithItems(db: Db | Transaction<DB>, orderId: string) {
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
          .select(['i.line_number', 'i.item_id', 'i.product_id', 'i.quantity', sql<string>`i.price::text`.as('price')])
          .whereRef('i.order_id', '=', 'o.order_id')
          .orderBy('i.line_number'),
      ).as('items'),
    ])
    .where('o.order_id', '=', orderId)
    .executeTakeFirst();
}
