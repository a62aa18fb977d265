import express, { Router, type Request } from 'express';
import { BadRequest, UnsupportedMediaType } from '@order-service/shared';
import { BODY_LIMIT_BYTES } from '../http/body-limit';
import { parseBody, parseParams } from '../http/validate';
import { getOrderJsonFor, type OrderReader } from './get-order';
import { CustomerIdHeader, MAX_IDEMPOTENCY_KEY_LENGTH, OrderIdParam, PlaceOrderBody } from './order.schemas';
import { createPriceCache } from '../products/price-cache';
import { placeOrder } from './place-order';
import { injectTraceHeaders, requestContext, withSpan } from '@order-service/shared/telemetry';

function idempotencyKey(req: Request): string | undefined {
  const key = req.get('idempotency-key');
  if (key === undefined) return undefined;
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BadRequest(`Idempotency-Key must be 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`);
  }
  return key;
}

/**
 * The order routes. `onOrderCommitted` runs after an order (and its outbox row) committed: the
 * app hints the relays then, never inside the transaction.
 */
export function orderRoutes(reader: OrderReader, onOrderCommitted: () => void = () => {}): Router {
  const router = Router();
  const prices = createPriceCache(reader.db);

  router.post(
    '/',
    (req, _res, next) => next(req.is(['application/json', 'application/*+json']) ? undefined : new UnsupportedMediaType()),
    express.json({ limit: BODY_LIMIT_BYTES, type: ['application/json', 'application/*+json'] }),
    async (req, res) => {
      // A malformed header is a malformed request (400), whatever the body holds.
      const key = idempotencyKey(req);
      const input = parseBody(PlaceOrderBody, req.body);
      // The span continues the request's trace; its context is stored with the outbox row, so the
      // relay, the payment side and the consumer carry the same trace on.
      const { response, replayed } = await withSpan('place order', requestContext(req.headers), (span) => {
        const trace = injectTraceHeaders<{ traceparent?: string; tracestate?: string }>({}, span);
        return placeOrder(reader.db, input, { idempotencyKey: key, prices, traceparent: trace.traceparent, tracestate: trace.tracestate });
      });
      if (replayed) res.set('Idempotent-Replayed', 'true');
      else onOrderCommitted();
      res.status(201).location(`/api/orders/${response.order_id}`).json(response);
    },
  );

  router.get('/:order_id', async (req, res) => {
    const { order_id } = parseParams(OrderIdParam, req.params);
    const header = req.get('x-customer-id');
    // Validated only when sent: the common, anonymous read skips the work.
    const viewer = header === undefined ? undefined : parseParams(CustomerIdHeader, { 'X-Customer-Id': header })['X-Customer-Id'];
    res.type('application/json').send(await getOrderJsonFor(reader, order_id, viewer));
  });

  return router;
}
