import * as v from 'valibot';
import { moneyToNumber } from '../money';
import { Money, Uuid, cloudEvent, cloudEventOf } from './cloudevent';
import { EVENT_SOURCE } from './topology';

export const ORDER_CREATED = 'OrderCreated';

export const OrderCreatedData = v.object({
  order_id: Uuid,
  customer_id: Uuid,
  items: v.array(
    v.object({
      product_id: Uuid,
      quantity: v.pipe(v.number(), v.integer(), v.minValue(1)),
      price: Money,
    }),
  ),
  total_amount: Money,
  shipping_address: v.string(),
  created_at: v.pipe(v.string(), v.isoTimestamp()),
});

/** Emitted once per order, through the outbox, on `orders` / `order.created`. */
export const OrderCreated = cloudEvent(ORDER_CREATED, OrderCreatedData);
export type OrderCreated = v.InferOutput<typeof OrderCreated>;

/** What an OrderCreated is made of: the order as written, amounts exact as text, `created_at` in ISO form. */
export interface OrderCreatedSource {
  order_id: string;
  customer_id: string;
  shipping_address: string;
  total_amount: string;
  created_at: string;
  items: ReadonlyArray<{ product_id: string; quantity: number; price: string }>;
}

/**
 * An order's OrderCreated: the event the API writes with the order, and the one `ops outbox
 * republish` makes again from the stored order with its original `id` (the same text, byte for byte).
 */
export function orderCreatedOf(order: OrderCreatedSource, id?: string): OrderCreated {
  return cloudEventOf({
    id,
    type: ORDER_CREATED,
    source: EVENT_SOURCE,
    time: order.created_at,
    data: {
      order_id: order.order_id,
      customer_id: order.customer_id,
      items: order.items.map((item) => ({ product_id: item.product_id, quantity: item.quantity, price: moneyToNumber(item.price) })),
      total_amount: moneyToNumber(order.total_amount),
      shipping_address: order.shipping_address,
      created_at: order.created_at,
    },
  });
}
