import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type InferResult,
  type Transaction,
} from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { DB } from './types';
import { preparedQuery, type Db } from './index';

/** A Kysely that only compiles: the statement below is built once, when this module loads. */
const compiler = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const ORDER_WITH_ITEMS = compiler
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
  // The order id is the statement's one parameter ($1), bound on every call.
  .where('o.order_id', '=', '')
  .compile();

export type OrderWithItems = InferResult<typeof ORDER_WITH_ITEMS>[number];

/**
 * An order with its items in line order, in one round trip: what GET /api/orders/{id} serves on a
 * cache miss and what `ops trace` shows. Amounts stay exact, as Postgres writes them. A prepared
 * statement, compiled once: a miss costs neither a query build here nor a parse and plan in Postgres.
 */
export async function findOrderWithItems(db: Db | Transaction<DB>, orderId: string): Promise<OrderWithItems | undefined> {
  const [row] = await preparedQuery<OrderWithItems>(db, 'find-order-with-items', ORDER_WITH_ITEMS.sql, [orderId]);
  return row;
}
