import { toJsonSchema } from '@valibot/to-json-schema';
import type { GenericSchema } from 'valibot';
import { OrderCreatedResponse, OrderView, PlaceOrderBody } from '../orders/order.schemas';
import { Product } from '../products/products.routes';

const schema = (s: GenericSchema) => toJsonSchema(s, { target: 'draft-2020-12', errorMode: 'ignore' });

const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
});

/** OpenAPI 3.1, built from the same valibot schemas that validate requests. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Order service',
      version: '1.0.0',
      description:
        'Takes orders; each order emits an OrderCreated event through a transactional outbox. ' +
        'All /api routes are rate limited per client IP (5 requests per minute by default).',
    },
    paths: {
      '/api/products': {
        get: {
          summary: 'The product catalog',
          responses: {
            200: { description: 'All products', content: { 'application/json': { schema: { type: 'array', items: schema(Product) } } } },
            429: problem('Rate limited'),
          },
        },
      },
      '/api/orders': {
        post: {
          summary: 'Place an order',
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              schema: { type: 'string', minLength: 1, maxLength: 255 },
              description:
                "Scoped to the body's customer_id: a retry by the same customer with the same key and body returns the original " +
                "response; another body is refused (422). Another customer's use of the same key is a different key.",
            },
          ],
          requestBody: { required: true, content: { 'application/json': { schema: schema(PlaceOrderBody) } } },
          responses: {
            201: {
              description: 'Created (or replayed for a repeated Idempotency-Key)',
              headers: { Location: { schema: { type: 'string' } } },
              content: { 'application/json': { schema: schema(OrderCreatedResponse) } },
            },
            400: problem('Malformed JSON or header'),
            408: problem('The body did not arrive in full within API_REQUEST_TIMEOUT_MS (10 s by default); the connection is closed'),
            413: problem('Body over 1 MiB (a declared Content-Length over it is refused before the body is read, and the connection closed)'),
            415: problem('Body is not JSON'),
            422: problem('Validation failed; invalid_params lists each field'),
            429: problem('Rate limited'),
            503: problem('Database unavailable'),
          },
        },
      },
      '/api/orders/{order_id}': {
        get: {
          summary: 'One order with its items',
          parameters: [
            { name: 'order_id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
            {
              name: 'X-Customer-Id',
              in: 'header',
              required: false,
              schema: { type: 'string', format: 'uuid' },
              description: "The caller's customer id, set by an authenticating gateway. Another customer's order then answers 404, exactly like an unknown id.",
            },
          ],
          responses: {
            200: { description: 'The order', content: { 'application/json': { schema: schema(OrderView) } } },
            400: problem('Malformed id'),
            404: problem('No such order'),
            429: problem('Rate limited'),
            503: problem('Database unavailable'),
          },
        },
      },
    },
    components: {
      schemas: {
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status'],
          properties: {
            type: { type: 'string' },
            title: { type: 'string' },
            status: { type: 'integer' },
            detail: { type: 'string' },
            instance: { type: 'string' },
            invalid_params: {
              type: 'array',
              items: { type: 'object', properties: { name: { type: 'string' }, reason: { type: 'string' } } },
            },
          },
        },
      },
    },
  };
}
