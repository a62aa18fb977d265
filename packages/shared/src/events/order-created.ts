import * as v from 'valibot';
import { Money, Uuid, cloudEvent } from './cloudevent';

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
