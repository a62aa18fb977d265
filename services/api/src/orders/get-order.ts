import {
  NotFound,
  cacheOrder,
  findOrderWithItems,
  orderJson,
  readCachedOrder,
  withDeadline,
  type Db,
  type Logger,
  type RedisClient,
} from '@order-service/shared';
import type { OrderView } from './order-schemas';

/**
 * The order reads the API's Redis client keeps in process (server-assisted client-side caching,
 * see createRedis): a repeated read of an order is answered without a round trip. Redis
 * invalidates a copy as soon as the consumer or a reader changes the entry; a copy older than a
 * second is read again anyway, which bounds what a stalled link to Redis can keep stale.
 * About 1 KB each.
 */
export const ORDER_READS_KEPT = { maxEntries: 10_000, maxAgeMs: 1_000 };

export interface OrderReader {
  db: Db;
  redis: RedisClient;
  logger: Logger;
  cacheTtlSeconds: number;
  /** How long a request waits for a cache read before it goes to Postgres instead. */
  redisTimeoutMs: number;
}

/** One order's JSON body, and whose order it is. */
export interface OrderBody {
  body: string;
  /** The order's customer. Read from a cached body only when asked, so a hit is sent without parsing. */
  customerId(): string;
}

/** A cached body as an OrderBody: sent as stored, parsed (once) only if its customer is asked for. */
export function cachedBody(body: string): OrderBody {
  let customer: string | undefined;
  return { body, customerId: () => (customer ??= (JSON.parse(body) as Pick<OrderView, 'customer_id'>).customer_id) };
}

/**
 * The cached body from Redis within `redisTimeoutMs` (the client answers from its kept copy when it
 * has one; the route has already looked there, see keptOrders); null on a miss, and on Redis
 * trouble, which is never the reader's problem.
 */
async function readCached({ redis, logger, redisTimeoutMs }: OrderReader, orderId: string): Promise<string | null> {
  return withDeadline(readCachedOrder(redis, orderId), redisTimeoutMs, 'redis').catch((error: unknown) => {
    logger.debug({ err: error }, 'order cache read failed');
    return null;
  });
}

/**
 * Cache-aside read of one order, returned as its JSON body (a hit is sent as stored). Redis
 * trouble is never the reader's problem: errors and timeouts fall back to Postgres, and the cache
 * write after a miss is not awaited.
 */
export async function getOrderJson(reader: OrderReader, orderId: string): Promise<OrderBody> {
  const cached = await readCached(reader, orderId);
  if (cached !== null) return cachedBody(cached);

  const { db, redis, logger, cacheTtlSeconds } = reader;
  const row = await findOrderWithItems(db, orderId);
  if (!row) throw new NotFound('order', orderId);
  const body = orderJson(row);
  cacheOrder(redis, orderId, row.version, body, cacheTtlSeconds).catch((error: unknown) => {
    logger.debug({ err: error }, 'order cache write failed');
  });
  return { body, customerId: () => row.customer_id };
}

/**
 * The order's body if `viewer` may see it: when the caller names its customer (X-Customer-Id, set
 * by the gateway that authenticated it), another customer's order is answered exactly like an
 * unknown id, cached or not, so nobody can probe which order ids exist.
 */
export function shownTo<T extends OrderBody>(order: T, orderId: string, viewer: string | undefined): T {
  if (viewer !== undefined && order.customerId() !== viewer) throw new NotFound('order', orderId);
  return order;
}

/** One order as seen by `viewer` (see shownTo). */
export async function getOrderJsonFor(reader: OrderReader, orderId: string, viewer: string | undefined): Promise<string> {
  return shownTo(await getOrderJson(reader, orderId), orderId, viewer).body;
}
