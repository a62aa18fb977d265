import { createHash, randomUUID } from 'node:crypto';
import {
  EVENT_SOURCE,
  MAX_CENTS,
  ORDER_CREATED,
  Topology,
  ValidationFailed,
  formatCents,
  moneyToNumber,
  toCents,
  type Db,
  type OrderCreated,
} from '@order-service/shared';
import type { OrderCreatedResponse, PlaceOrderInput } from './order.schemas';
import {
  claimIdempotencyKey,
  findIdempotentOrder,
  findProductPrices,
  insertOrderWithEvent,
  type IdempotencyScope,
} from './orders.repository';

export interface PlaceOrderOptions {
  /** Scoped to the order's customer: the same key from another customer is another key. */
  idempotencyKey?: string;
  /** W3C trace context of the request, stored with the event so the trace crosses the broker. */
  traceparent?: string;
  now?: Date;
}

export interface PlacedOrder {
  response: OrderCreatedResponse;
  /** True when an Idempotency-Key matched an earlier request and its original response is replayed. */
  replayed: boolean;
}

/** A stable hash of the validated request, to tell a retry from a different request under the same key. */
export function hashRequest(input: PlaceOrderInput): string {
  return createHash('sha256').update(JSON.stringify(input)).digest('hex');
}

/** Prices every line from the catalog and sums exactly, in cents. Throws 422 for unknown products. */
export function priceItems(input: PlaceOrderInput, catalog: Map<string, string>) {
  const unknown = input.items.flatMap((item, index) =>
    catalog.has(item.product_id) ? [] : [{ name: `items[${index}].product_id`, reason: 'unknown product' }],
  );
  if (unknown.length > 0) throw new ValidationFailed('The order names products that do not exist.', unknown);
  const lines = input.items.map((item) => ({ ...item, price: catalog.get(item.product_id)! }));
  const totalCents = lines.reduce((sum, line) => sum + toCents(line.price) * BigInt(line.quantity), 0n);
  if (totalCents > MAX_CENTS) {
    throw new ValidationFailed('The order total is too large.', [{ name: 'items', reason: 'total exceeds 9999999999.99' }]);
  }
  return { lines, total: formatCents(totalCents) };
}

/**
 * Places an order: one transaction writes the order, its items, the OrderCreated event in the
 * outbox and, when given, the Idempotency-Key. A retry under the same key returns the original
 * response; racing retries wait on the key's row, so exactly one order is created.
 */
export async function placeOrder(db: Db, input: PlaceOrderInput, options: PlaceOrderOptions = {}): Promise<PlacedOrder> {
  const now = options.now ?? new Date();
  const orderId = randomUUID();
  const scope = options.idempotencyKey === undefined ? undefined : { customerId: input.customer_id, key: options.idempotencyKey };

  return db.transaction().execute(async (trx) => {
    if (scope !== undefined) {
      const requestHash = hashRequest(input);
      const claimed = await claimIdempotencyKey(trx, scope, requestHash, orderId);
      if (!claimed) return replay(trx, scope, requestHash);
    }

    const productIds = [...new Set(input.items.map((item) => item.product_id))];
    const prices = await findProductPrices(trx, productIds);
    const { lines, total } = priceItems(input, new Map(prices.map((p) => [p.product_id, p.price])));

    const createdAt = now.toISOString();
    const event: OrderCreated = {
      specversion: '1.0',
      id: randomUUID(),
      source: EVENT_SOURCE,
      type: ORDER_CREATED,
      time: createdAt,
      datacontenttype: 'application/json',
      data: {
        order_id: orderId,
        customer_id: input.customer_id,
        items: lines.map((line) => ({ product_id: line.product_id, quantity: line.quantity, price: moneyToNumber(line.price) })),
        total_amount: moneyToNumber(total),
        shipping_address: input.shipping_address,
        created_at: createdAt,
      },
    };

    await insertOrderWithEvent(
      trx,
      {
        order_id: orderId,
        customer_id: input.customer_id,
        shipping_address: input.shipping_address,
        total_amount: total,
        created_at: now,
        updated_at: now,
      },
      lines.map((line, index) => ({
        order_id: orderId,
        line_number: index + 1,
        product_id: line.product_id,
        quantity: line.quantity,
        price: line.price,
      })),
      {
        event_id: event.id,
        event_type: ORDER_CREATED,
        aggregate_id: orderId,
        exchange: Topology.ordersExchange,
        routing_key: Topology.orderCreatedKey,
        payload: JSON.stringify(event),
        traceparent: options.traceparent ?? null,
      },
    );

    return {
      replayed: false,
      response: { order_id: orderId, status: 'PENDING', total_amount: moneyToNumber(total), created_at: createdAt },
    };
  });
}

/** The original 201 response for a key already used, or 422 when the key came with another body. */
async function replay(db: Parameters<typeof findIdempotentOrder>[0], scope: IdempotencyScope, requestHash: string): Promise<PlacedOrder> {
  const original = await findIdempotentOrder(db, scope);
  // The key row and its order commit together, so a visible key always has its order.
  if (!original) throw new Error(`idempotency key ${scope.key} of customer ${scope.customerId} has no order`);
  if (original.request_hash !== requestHash) {
    throw new ValidationFailed('This Idempotency-Key was already used with a different request body.', [
      { name: 'Idempotency-Key', reason: 'reused with a different body' },
    ]);
  }
  return {
    replayed: true,
    response: {
      order_id: original.order_id,
      status: 'PENDING',
      total_amount: moneyToNumber(original.total_amount),
      created_at: original.created_at.toISOString(),
    },
  };
}
