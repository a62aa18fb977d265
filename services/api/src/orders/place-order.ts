import { createHash, randomUUID } from 'node:crypto';
import {
  MAX_CENTS,
  ValidationFailed,
  formatCents,
  moneyToNumber,
  orderCreatedOf,
  outboxRowOf,
  toCents,
  type Clock,
  type Db,
} from '@order-service/shared';
import type { OrderCreatedResponse, PlaceOrderInput } from './order-schemas';
import { createPriceCache, type PriceCache } from '../products/price-cache';
import { createOrderWriter, type OrderWriter } from './order-writer';
import { findIdempotentOrder, type IdempotencyScope } from './orders-repository';

export interface PlaceOrderOptions {
  /** Scoped to the order's customer: the same key from another customer is another key. */
  idempotencyKey?: string;
  /** W3C trace context of the request, stored with the event so the trace crosses the broker. */
  traceparent?: string;
  tracestate?: string;
  /** Where prices come from; the app keeps one for its lifetime. Without one, each order looks its prices up. */
  prices?: PriceCache;
  /** What writes the order; the app keeps one, so that concurrent orders share statements. Without one, the order is written on its own. */
  writer?: OrderWriter;
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

/** One order line with its catalog price (exact decimal text). */
export interface PricedLine {
  product_id: string;
  quantity: number;
  price: string;
}

/** Prices every line from the catalog and sums exactly, in cents. Throws 422 for unknown products. */
export function priceItems(input: PlaceOrderInput, catalog: Map<string, string>): { lines: PricedLine[]; total: string } {
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
 * Places an order in one statement, one round trip: the order, its items, the OrderCreated event
 * in the outbox and, when given, the customer's Idempotency-Key (the statement may carry other
 * requests' orders too, see createOrderWriter). Lines are priced from `prices`
 * (a cache) and summed exactly; the statement checks every price against the catalog and writes
 * nothing when one changed, and the order is then priced again. A retry under the same key
 * returns the original response; racing retries wait on the key's row, so exactly one order is created.
 * The order and its event are stamped with `clock`'s time.
 */
export async function placeOrder(db: Db, input: PlaceOrderInput, clock: Clock, options: PlaceOrderOptions = {}): Promise<PlacedOrder> {
  const prices = options.prices ?? createPriceCache(db);
  const writer = options.writer ?? createOrderWriter(db);
  const productIds = [...new Set(input.items.map((item) => item.product_id))];
  const scope = options.idempotencyKey === undefined ? undefined : { customerId: input.customer_id, key: options.idempotencyKey };
  const requestHash = scope === undefined ? undefined : hashRequest(input);
  // The catalog changing under an order twice in a row is not worth a third try.
  for (let attempt = 1; attempt <= 3; attempt += 1) {
    const { lines, total } = priceItems(input, await prices.pricesOf(productIds));
    const placed = newOrder(input, lines, total, new Date(clock.now()), options);
    const { pricesMatch, created } = await writer.write({
      ...placed.rows,
      key: scope && requestHash ? { idempotency_key: scope.key, request_hash: requestHash } : undefined,
    });
    if (created) return { replayed: false, response: placed.response };
    if (pricesMatch && scope && requestHash) return replay(db, scope, requestHash);
    prices.forget(productIds);
  }
  throw new Error('the catalog changed under this order three times in a row');
}

/** The rows and the 201 response of a new order with priced lines, created at `now`. */
function newOrder(input: PlaceOrderInput, lines: PricedLine[], total: string, now: Date, options: PlaceOrderOptions) {
  const createdAt = now.toISOString();
  const orderId = randomUUID();
  const event = orderCreatedOf({
    order_id: orderId,
    customer_id: input.customer_id,
    shipping_address: input.shipping_address,
    total_amount: total,
    created_at: createdAt,
    items: lines,
  });
  return {
    rows: {
      order: { order_id: orderId, customer_id: input.customer_id, shipping_address: input.shipping_address, total_amount: total, created_at: now },
      lines,
      event: outboxRowOf(event, options),
    },
    response: { order_id: orderId, status: 'PENDING' as const, total_amount: moneyToNumber(total), created_at: createdAt },
  };
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
