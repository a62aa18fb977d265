import express, { type Request, type Router } from 'express';
import { BODY_LIMIT_BYTES, UnsupportedMediaType, keptCacheEntry, type Clock } from '@order-service/shared';
import { parseBody, parseHeaders, parseParams } from '../http/validate';
import { getOrderJsonFor, type OrderReader } from './get-order';
import { keptOrders, sendKeptOrder } from './kept-orders';
import { CustomerIdHeader, IdempotencyKeyHeader, OrderIdParam, PlaceOrderBody, isCanonicalId } from './order-schemas';
import { createPriceCache } from '../products/price-cache';
import { placeOrder } from './place-order';
import { createOrderWriter } from './order-writer';
import { injectTraceHeaders, requestContext, withSpan } from '@order-service/shared/telemetry';

/** The order id a GET names: a canonical id as it stands, anything else through the schema (400 when malformed). */
function orderIdOf(req: Request): string {
  const id = req.params.order_id;
  return isCanonicalId(id) ? id : parseParams(OrderIdParam, req.params).order_id;
}

/** The caller's X-Customer-Id, checked as orderIdOf checks the id (absent: undefined). */
function viewerOf(req: Request): string | undefined {
  const header = req.headers['x-customer-id'];
  return header === undefined || isCanonicalId(header) ? header : parseHeaders(CustomerIdHeader, req)['X-Customer-Id'];
}

/**
 * Adds the order routes, at `/api/orders`, to `routes` (the app: a router of their own would be one
 * more router for every request to walk, the cached GET above all). New orders are stamped with
 * `clock`'s time. `onOrderCommitted` runs after an order (and its outbox row) committed: the app
 * hints the relays then, never inside the transaction.
 */
export function addOrderRoutes(routes: Pick<Router, 'get' | 'post'>, reader: OrderReader, clock: Clock, onOrderCommitted: () => void = () => {}): void {
  const prices = createPriceCache(reader.db);
  const writer = createOrderWriter(reader.db);

  routes.post(
    '/api/orders',
    (req, _res, next) => next(req.is(['application/json', 'application/*+json']) ? undefined : new UnsupportedMediaType()),
    express.json({ limit: BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'] }),
    async (req, res) => {
      // A malformed header is a malformed request (400), whatever the body holds.
      const key = parseHeaders(IdempotencyKeyHeader, req)['Idempotency-Key'];
      const input = parseBody(PlaceOrderBody, req.body);
      // The span continues the request's trace; its context is stored with the outbox row, so the
      // relay, the payment side and the consumer carry the same trace on.
      const { response, replayed } = await withSpan('place order', requestContext(req.headers), (span) => {
        const trace = injectTraceHeaders<{ traceparent?: string; tracestate?: string }>({}, span);
        return placeOrder(reader.db, input, clock, { idempotencyKey: key, prices, writer, traceparent: trace.traceparent, tracestate: trace.tracestate });
      });
      if (replayed) res.set('Idempotent-Replayed', 'true');
      else onOrderCommitted();
      res.status(201).location(`/api/orders/${response.order_id}`).json(response);
    },
  );

  // A copy kept in process is sent at once; anything else reads on (Redis, then Postgres).
  // The 1,000 last kept copies are ready to send, a fraction of the 10,000 the Redis client keeps.
  const kept = keptOrders((orderId) => keptCacheEntry(reader.redis, orderId), 1_000);
  routes.get('/api/orders/:order_id', (req, res) => {
    const order_id = orderIdOf(req);
    const viewer = viewerOf(req);
    const order = kept(res, order_id, viewer);
    if (order !== undefined) return sendKeptOrder(req, res, order);
    return getOrderJsonFor(reader, order_id, viewer).then((body) => {
      res.type('application/json').send(body);
    });
  });
}
