import { toJsonSchema } from '@valibot/to-json-schema';
import type * as v from 'valibot';
import { BODY_LIMIT_TEXT, CURRENCY } from '@order-service/shared';
import { CustomerIdHeader, IdempotencyKeyHeader, OrderCreatedResponse, OrderIdParam, OrderView, PlaceOrderBody } from '../orders/order-schemas';
import { Product } from '../products/products-routes';
import { ProblemTypeParam } from './problem-types';

type JsonObject = Record<string, unknown>;

const schema = (s: v.GenericSchema) => toJsonSchema(s, { target: 'draft-2020-12', errorMode: 'ignore' }) as JsonObject;

type ParameterSchema = v.ObjectSchema<v.ObjectEntries, undefined>;

/**
 * OpenAPI parameters from the valibot object schema that validates them: one per entry, required
 * unless the entry is optional (a path parameter always is), with the entry's description.
 */
export function parametersOf(object: ParameterSchema, location: 'path' | 'header') {
  const { properties = {}, required = [] } = schema(object) as { properties?: Record<string, JsonObject>; required?: string[] };
  return Object.entries(properties).map(([name, { description, ...property }]) => ({
    name,
    in: location,
    required: location === 'path' || required.includes(name),
    ...(description === undefined ? {} : { description }),
    schema: property,
  }));
}

const ref = (kind: 'schemas' | 'headers' | 'parameters' | 'responses', name: string) => ({ $ref: `#/components/${kind}/${name}` });
const json = (name: string) => ({ 'application/json': { schema: ref('schemas', name) } });

/**
 * The headers of every response from the /api routes while the rate limit is on (express-rate-limit,
 * standardHeaders draft-8). A request refused before routing (headers too large) has none.
 */
const RATE_LIMIT_HEADERS = { RateLimit: ref('headers', 'RateLimit'), 'RateLimit-Policy': ref('headers', 'RateLimit-Policy') };

type Response = { description: string; headers?: JsonObject; content?: JsonObject };

const problem = (description: string, headers: JsonObject = RATE_LIMIT_HEADERS): Response => ({
  description,
  headers,
  content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } },
});

/** Responses every /api operation can give, whatever the route: refusals before routing, the limit, failures. */
const COMMON_API_RESPONSES = {
  400: ref('responses', 'BadRequest'),
  408: ref('responses', 'RequestTimeout'),
  413: ref('responses', 'PayloadTooLarge'),
  429: ref('responses', 'TooManyRequests'),
  431: ref('responses', 'RequestHeaderFieldsTooLarge'),
  500: ref('responses', 'InternalServerError'),
  503: ref('responses', 'ServiceUnavailable'),
};

/**
 * An operation under /api: the rate-limit headers added to each of its own responses, and the
 * common responses for the statuses it does not describe itself, in the order of their status.
 */
function apiOperation(operation: JsonObject & { responses: Record<number, Response> }) {
  const own = Object.entries(operation.responses).map(([status, response]) => [
    status,
    { ...response, headers: { ...response.headers, ...RATE_LIMIT_HEADERS } },
  ]);
  const responses = Object.fromEntries([...Object.entries(COMMON_API_RESPONSES), ...own].sort(([a], [b]) => Number(a) - Number(b)));
  return { ...operation, responses };
}

/** GET answers with an ETag, and with 304 when the request's If-None-Match still matches it. */
const conditionalGet = (description: string, body: JsonObject) => ({
  200: { description, headers: { ETag: ref('headers', 'ETag') }, content: body },
  304: { description: 'Not Modified: the If-None-Match tag still matches; no body.', headers: { ETag: ref('headers', 'ETag') } },
});

const DESCRIPTION = [
  'Takes orders; each order emits an OrderCreated event through a transactional outbox.',
  '',
  '**No authentication**: the API itself authenticates no one, so no operation declares a security requirement (`security: []`). ' +
    'A gateway in front may authenticate and then pass the caller as `X-Customer-Id` on GET /api/orders/{order_id}.',
  '',
  `**Money**: every amount (price, total_amount) is a JSON number with at most 2 decimals, in ${CURRENCY}, the catalog's one currency; ` +
    'no amount names its currency.',
  '',
  '**Rate limit**: every /api route is limited per client IP (5 requests per minute by default), and every /api response ' +
    'carries the RateLimit and RateLimit-Policy headers while the limit is on.',
  '',
  '**Errors** are RFC 9457 `application/problem+json`. A problem `type` is relative to the API: GET it (/problems/{type}) for its documentation.',
  '',
  '**Paths**: every path is also served with one trailing slash (POST /api/orders/ is POST /api/orders), as the contract promises ' +
    'for POST /api/orders/; the variants are not listed as paths of their own. HEAD is answered for every GET.',
].join('\n');

/** OpenAPI 3.1: the bodies and parameters built from the same valibot schemas that validate requests; paths and problems written here. */
export function openApiDocument() {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Order service',
      version: '1.0.0',
      description: DESCRIPTION,
      // The repository grants no license; say so instead of leaving it unsaid.
      license: { name: 'Proprietary: no license is granted', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'The API that serves this document (http://localhost:8000 with pnpm start or Compose)' }],
    security: [],
    paths: {
      '/api/products': {
        get: apiOperation({
          operationId: 'listProducts',
          summary: 'The product catalog',
          parameters: [ref('parameters', 'If-None-Match')],
          responses: conditionalGet('All products, by name', { 'application/json': { schema: { type: 'array', items: ref('schemas', 'Product') } } }),
        }),
      },
      '/api/orders': {
        post: apiOperation({
          operationId: 'placeOrder',
          summary: 'Place an order',
          description: 'Prices come from the catalog, never from the client; unknown fields of the body are ignored, never stored.',
          parameters: parametersOf(IdempotencyKeyHeader, 'header'),
          requestBody: { required: true, content: json('PlaceOrder') },
          responses: {
            201: {
              description: 'Created, or the original response replayed for a repeated Idempotency-Key',
              headers: { Location: ref('headers', 'Location'), 'Idempotent-Replayed': ref('headers', 'Idempotent-Replayed') },
              content: json('OrderCreated'),
            },
            400: problem('Malformed JSON, or a malformed Idempotency-Key'),
            415: problem('The body is not JSON'),
            422: problem('Validation failed (an unknown product included); invalid_params lists each field. Also a reused Idempotency-Key with another body.'),
          },
        }),
      },
      '/api/orders/{order_id}': {
        get: apiOperation({
          operationId: 'getOrder',
          summary: 'One order with its items',
          description: 'Cached for 60 s; a payment result shows at once (the consumer replaces the cached copy).',
          parameters: [...parametersOf(OrderIdParam, 'path'), ...parametersOf(CustomerIdHeader, 'header'), ref('parameters', 'If-None-Match')],
          responses: {
            ...conditionalGet('The order', json('Order')),
            400: problem('Malformed order id or X-Customer-Id'),
            404: problem("No such order (or another customer's, when X-Customer-Id is sent)"),
          },
        }),
      },
      '/problems/{type}': {
        get: {
          operationId: 'getProblemType',
          summary: "A problem type's documentation",
          description: 'What a problem `type` resolves to: an HTML page, or JSON when asked for with Accept: application/json. Not rate limited.',
          parameters: parametersOf(ProblemTypeParam, 'path'),
          responses: {
            200: {
              description: 'The problem type',
              content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: ref('schemas', 'ProblemType') } },
            },
            404: { description: 'No such problem type', content: { 'application/problem+json': { schema: ref('schemas', 'Problem') } } },
          },
        },
      },
    },
    components: {
      schemas: {
        Product: schema(Product),
        PlaceOrder: schema(PlaceOrderBody),
        OrderCreated: schema(OrderCreatedResponse),
        Order: schema(OrderView),
        Problem: {
          type: 'object',
          required: ['type', 'title', 'status', 'detail'],
          properties: {
            type: {
              type: 'string',
              format: 'uri-reference',
              description: 'The problem type, /problems/<slug of the title>, relative to the API that answered: GET it for its documentation.',
            },
            title: { type: 'string', description: 'The HTTP status phrase of `status`' },
            status: { type: 'integer', minimum: 400, maximum: 599 },
            detail: { type: 'string', description: 'What went wrong with this request; never internals' },
            instance: { type: 'string', format: 'uri-reference', description: 'The path of the request' },
            invalid_params: {
              type: 'array',
              description: 'Only with 422: each invalid field of the body',
              items: {
                type: 'object',
                required: ['name', 'reason'],
                properties: { name: { type: 'string', description: 'The field, e.g. items[2].quantity' }, reason: { type: 'string' } },
              },
            },
          },
        },
        ProblemType: {
          type: 'object',
          required: ['type', 'title', 'status', 'description'],
          properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, description: { type: 'string' } },
        },
      },
      parameters: {
        // Read by express itself (its default weak ETag), not by a schema of ours.
        'If-None-Match': {
          name: 'If-None-Match',
          in: 'header',
          required: false,
          description: 'An ETag from an earlier response: while the representation still has that tag, the answer is 304 with no body.',
          schema: { type: 'string' },
        },
      },
      headers: {
        RateLimit: {
          description:
            'Sent on every response of the /api routes while the rate limit is on (API_RATE_LIMIT_ENABLED): ' +
            '`"<limit>-in-<window>"; r=<requests left>; t=<seconds until the window resets>` ' +
            '(IETF draft-ietf-httpapi-ratelimit-headers-08).',
          schema: { type: 'string', examples: ['"5-in-1min"; r=4; t=60'] },
        },
        'RateLimit-Policy': {
          description: 'Sent with RateLimit: `"<limit>-in-<window>"; q=<limit>; w=<window in seconds>; pk=<partition key>`.',
          schema: { type: 'string', examples: ['"5-in-1min"; q=5; w=60; pk=:MTJjYTE3YjQ5YWYy:'] },
        },
        'Retry-After': { description: 'Seconds to wait before retrying.', required: true, schema: { type: 'integer', minimum: 1 } },
        Location: { description: 'The new order: /api/orders/{order_id}.', required: true, schema: { type: 'string', format: 'uri-reference' } },
        'Idempotent-Replayed': {
          description: 'Sent only when the response is the replay of an earlier one for the same Idempotency-Key.',
          schema: { type: 'string', enum: ['true'] },
        },
        ETag: {
          description: 'A weak validator of the body. Send it back as If-None-Match to get 304 while it is unchanged.',
          required: true,
          schema: { type: 'string', examples: ['W/"216-TlcJRitHliPzVSd2Xf8f0DthD+k"'] },
        },
      },
      responses: {
        BadRequest: problem('A malformed request: a request line that is not HTTP/1.x, a broken %-escape in the path'),
        RequestTimeout: problem('The request did not arrive in full within API_REQUEST_TIMEOUT_MS (10 s by default); the connection is closed'),
        PayloadTooLarge: problem(`A body over ${BODY_LIMIT_TEXT}; a declared Content-Length over it is refused before the body is read, and the connection closed`),
        TooManyRequests: problem('Rate limited', { 'Retry-After': ref('headers', 'Retry-After'), ...RATE_LIMIT_HEADERS }),
        RequestHeaderFieldsTooLarge: problem('The request headers are too large; the connection is closed', {}),
        InternalServerError: problem('An unexpected error; logged, never described in the body'),
        ServiceUnavailable: problem('The database is unavailable', { 'Retry-After': ref('headers', 'Retry-After'), ...RATE_LIMIT_HEADERS }),
      },
    },
  };
}
