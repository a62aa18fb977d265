import {
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  sql,
  type Expression,
  type InferResult,
  type RawBuilder,
  type Transaction,
} from 'kysely';
import { moneyToNumber } from '../money';
import type { DB } from './types';
import { preparedQuery, type Db } from './index';

/** One line of an order as Postgres gives it: the price exactly as stored, as text. */
export interface OrderItemRow {
  line_number: number;
  item_id: string;
  product_id: string;
  quantity: number;
  price: string;
}

/**
 * The items of the order `orderId` names, in line order, as one JSON array: what findOrderWithItems
 * reads, and what the consumer's statement returns with an order it changed.
 */
export function orderItemsOf(orderId: Expression<string>): RawBuilder<OrderItemRow[]> {
  return sql<OrderItemRow[]>`(SELECT coalesce(json_agg(i ORDER BY i.line_number), '[]')
    FROM (SELECT line_number, item_id, product_id, quantity, price::text AS price FROM order_items WHERE order_id = ${orderId}) i)`;
}

/**
 * A Kysely that only compiles: for statements built once, when their module loads, and sent as
 * named prepared statements (preparedQuery), so a call costs neither a build nor a parse.
 */
export const compileOnly = new Kysely<DB>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

const ORDER_WITH_ITEMS = compileOnly
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
    orderItemsOf(eb.ref('o.order_id')).as('items'),
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

/** What orderJson needs of an order: a row of findOrderWithItems, or one the consumer changed. */
export type OrderJsonSource = Omit<OrderWithItems, 'version'>;

/**
 * An order as GET /api/orders/{id} shows it, as the JSON text the API sends and caches. The one
 * place that text is made: the API after a cache miss, the consumer after a payment.
 */
export function orderJson(row: OrderJsonSource): string {
  return JSON.stringify({
    order_id: row.order_id,
    customer_id: row.customer_id,
    status: row.status,
    shipping_address: row.shipping_address,
    // The line number orders the items; it is not part of the view.
    items: row.items.map(({ line_number: _line, price, ...item }) => ({ ...item, price: moneyToNumber(price) })),
    total_amount: moneyToNumber(row.total_amount),
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  });
}
