import * as v from 'valibot';
import { MoneyAmount, Uuid } from '@order-service/shared';

export const MAX_ITEMS = 100;
export const MAX_QUANTITY = 1_000;
export const MAX_ADDRESS_LENGTH = 500;
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Text Postgres can store and people can read: no NUL or other control characters but newlines and tabs. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const PrintableText = v.regex(/^[^\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]*$/u, 'must not contain control characters');

/**
 * A lone UTF-16 surrogate (JSON allows "\ud800") cannot be encoded as UTF-8: the driver would
 * store U+FFFD while the event in the outbox kept the escape, so the two would disagree.
 */
const WellFormedText = v.check((text: string) => !/\p{Cs}/u.test(text), 'must be valid Unicode text');

/**
 * Ids are compared as strings (catalog lookup, cache keys, request hashes), so they are
 * normalised to the lower case Postgres prints; an upper-case id then means the same thing.
 */
const Id = v.pipe(Uuid, v.toLowerCase());

/** A UUID as Id outputs it, in lower case: Id passes it unchanged, so one regex test stands for the whole schema. */
const CANONICAL_ID = /^[\da-f]{8}(?:-[\da-f]{4}){3}-[\da-f]{12}$/;

/** Whether `value` is an id Id would return as it is (the hot path's check; anything else goes through the schema). */
export const isCanonicalId = (value: unknown): value is string => typeof value === 'string' && CANONICAL_ID.test(value);

export const OrderItemInput = v.object({
  product_id: Id,
  quantity: v.pipe(
    v.number('must be a number'),
    v.integer('must be an integer'),
    v.minValue(1, 'must be at least 1'),
    v.maxValue(MAX_QUANTITY, `must be at most ${MAX_QUANTITY}`),
  ),
});

/** The body of POST /api/orders. Unknown fields are stripped: a client cannot set status or totals. */
export const PlaceOrderBody = v.object({
  customer_id: Id,
  // The count is checked before the items, so a 1 MiB array of junk costs one length check
  // and one issue, not a validation and an issue per element.
  items: v.pipe(
    v.array(v.unknown(), 'must be an array'),
    v.minLength(1, 'must have at least 1 item'),
    v.maxLength(MAX_ITEMS, `must have at most ${MAX_ITEMS} items`),
    v.array(OrderItemInput),
  ),
  shipping_address: v.pipe(
    v.string('must be a string'),
    v.trim(),
    v.minLength(1, 'must not be empty'),
    v.maxLength(MAX_ADDRESS_LENGTH, `must be at most ${MAX_ADDRESS_LENGTH} characters`),
    PrintableText,
    WellFormedText,
  ),
});
export type PlaceOrderInput = v.InferOutput<typeof PlaceOrderBody>;

export const OrderStatus = v.picklist(['PENDING', 'PROCESSING', 'FAILED']);

/** 201 response of POST /api/orders. */
export const OrderCreatedResponse = v.object({
  order_id: Uuid,
  status: v.literal('PENDING'),
  total_amount: MoneyAmount,
  created_at: v.pipe(v.string(), v.isoTimestamp()),
});
export type OrderCreatedResponse = v.InferOutput<typeof OrderCreatedResponse>;

/** 200 response of GET /api/orders/{order_id}. */
export const OrderView = v.object({
  order_id: Uuid,
  customer_id: Uuid,
  status: OrderStatus,
  shipping_address: v.string(),
  items: v.array(
    v.object({
      item_id: Uuid,
      product_id: Uuid,
      quantity: v.pipe(v.number(), v.integer()),
      price: MoneyAmount,
    }),
  ),
  total_amount: MoneyAmount,
  created_at: v.pipe(v.string(), v.isoTimestamp()),
  updated_at: v.pipe(v.string(), v.isoTimestamp()),
});
export type OrderView = v.InferOutput<typeof OrderView>;

export const OrderIdParam = v.object({ order_id: v.pipe(Id, v.description('The order id (a UUID, in any case), as POST /api/orders returned it.')) });

/**
 * Optional `X-Customer-Id` of the caller, set by an authenticating gateway. When present, a GET
 * only shows that customer's own orders.
 */
export const CustomerIdHeader = v.object({
  'X-Customer-Id': v.optional(
    v.pipe(
      Id,
      v.description("The caller's customer id, set by an authenticating gateway. Another customer's order then answers 404, exactly like an unknown id."),
    ),
  ),
});

/** Optional `Idempotency-Key` of POST /api/orders. */
export const IdempotencyKeyHeader = v.object({
  'Idempotency-Key': v.optional(
    v.pipe(
      v.string(),
      v.minLength(1, `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
      v.maxLength(MAX_IDEMPOTENCY_KEY_LENGTH, `must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`),
      v.description(
        "Scoped to the body's customer_id: a retry by the same customer with the same key and body returns the original " +
          "201 (with Idempotent-Replayed: true), even when the retries race; another body is refused (422). Another customer's " +
          `use of the same key is a different key. Kept for API_IDEMPOTENCY_RETENTION_HOURS (24 by default).`,
      ),
    ),
  ),
});
