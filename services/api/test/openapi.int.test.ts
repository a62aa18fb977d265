import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { expect } from 'chai';
import { sql } from 'kysely';
import * as v from 'valibot';
import { AppError, createLogger, createRedis, invalidateOrder, orderCacheKey, type RedisClient } from '@order-service/shared';
import { BASE_REDIS_URL, createTestDatabase, waitFor, type HttpResponse, type TestDatabase } from '@order-service/testkit';
import type { openApiDocument } from '../src/http/openapi';
import { ORDER_READS_KEPT } from '../src/orders/get-order';
import { OrderCreatedResponse, OrderView } from '../src/orders/order-schemas';
import { Product } from '../src/products/products-routes';
import { expectProblem } from './support/problem';
import { client, orderBody, startTestApi, uniqueClientIp, type TestApi } from './support/test-api';

type Document = ReturnType<typeof openApiDocument>;
interface Operation {
  responses: Record<string, { $ref?: string; headers?: Record<string, unknown> }>;
}

/** A layer of express's router (router 2.x): a route, or a middleware that may be a router itself. */
interface Layer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean> };
  handle: { stack?: Layer[] };
}

/** Every method and path an express app routes, read from its router stack, as OpenAPI templates. */
function routesOf(stack: Layer[], prefix = ''): string[] {
  return stack.flatMap((layer) => {
    if (layer.route) {
      const template = `${prefix}${layer.route.path}`.replace(/\/+$/, '').replace(/:(\w+)/g, '{$1}');
      return Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${template}`);
    }
    const path = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
    return layer.handle.stack ? routesOf(layer.handle.stack, `${prefix}${path}`) : [];
  });
}

const documented = (document: Document) =>
  Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${path}`));

/** The headers the document names for one response (following a $ref to the shared responses). */
function documentedHeaders(document: Document, path: keyof Document['paths'], method: string, status: number): string[] {
  const operation = (document.paths[path] as Record<string, Operation>)[method]!;
  let response = operation.responses[status]!;
  if (response.$ref) response = (document.components.responses as Record<string, typeof response>)[response.$ref.split('/').at(-1)!]!;
  return Object.keys(response.headers ?? {});
}

describe('api: what /openapi.json documents is what the API serves', () => {
  let database: TestDatabase;
  let api: TestApi;
  let http: ReturnType<typeof client>;
  let document: Document;

  before(async () => {
    database = await createTestDatabase('api_openapi');
    api = await startTestApi({ databaseUrl: database.url });
    http = client(api.url);
    document = (await http.get('/openapi.json')).json<Document>();
  });

  after(async () => {
    await api?.close();
    await database?.drop();
  });

  it('GET /openapi.json is an OpenAPI 3.1 document, its bodies built from the validating schemas', async () => {
    expect(document.openapi).to.equal('3.1.0');
    expect(Object.keys(document.paths).sort()).to.deep.equal(['/api/orders', '/api/orders/{order_id}', '/api/products', '/problems/{type}']);
    const body = document.components.schemas.PlaceOrder as {
      required: string[];
      properties: { items: { minItems: number; maxItems: number; items: { properties: { quantity: Record<string, unknown> } } } };
    };
    expect(body.required).to.have.members(['customer_id', 'items', 'shipping_address']);
    expect(body.properties.items).to.include({ minItems: 1, maxItems: 100 });
    expect(body.properties.items.items.properties.quantity).to.include({ minimum: 1, maximum: 1000 });
  });

  it('every route express serves under /api is an operation of the document, and no other', () => {
    const stack = (api.app as unknown as { router: { stack: Layer[] } }).router.stack;
    const served = routesOf(stack).filter((route) => route.split(' ')[1]!.startsWith('/api'));
    expect(served).to.include('POST /api/orders');
    expect(served.sort()).to.deep.equal(documented(document).filter((route) => route.split(' ')[1]!.startsWith('/api')).sort());
  });

  /** A request that reaches each documented /api operation, with its path written as given. */
  const requests: Array<[string, (path: string) => Promise<HttpResponse>]> = [
    ['GET /api/products', (path) => http.get(path)],
    ['POST /api/orders', (path) => http.post(path, orderBody())],
    ['GET /api/orders/{order_id}', (path) => http.get(path.replace('{order_id}', randomUUID()))],
  ];

  for (const trailing of ['', '/']) {
    it(`every documented /api operation is served, and HEAD with GET${trailing ? ', with a trailing slash too, as the document says' : ''}`, async () => {
      expect(requests.map(([route]) => route)).to.have.members(documented(document).filter((route) => route.includes(' /api')));
      if (trailing) expect(document.info.description).to.include('also served with one trailing slash');
      for (const [route, send] of requests) {
        const response = await send(`${route.split(' ')[1]}${trailing}`);
        // The catch-all 404 says "No route matches"; an unknown order is a 404 of the route itself.
        expect(response.text, route).not.to.include('No route matches');
        expect(response.status, `${route}: ${response.text}`).to.be.oneOf([200, 201, 404]);
      }
      // HEAD is answered for every GET, as the document says: the same status, no body.
      expect(document.info.description).to.include('HEAD is answered for every GET');
      const head = await http.send('HEAD', `/api/products${trailing}`);
      expect(head.status).to.equal(200);
      expect(head.text).to.equal('');
    });
  }

  it('the responses match the valibot schemas the document is built from, amounts with at most 2 decimals', async () => {
    const created = await http.post('/api/orders', orderBody({ items: [{ product_id: '55555555-5555-4555-8555-555555555555', quantity: 7 }] }));
    const order = v.parse(OrderCreatedResponse, created.json());
    expect(order.total_amount).to.equal(0.7);
    v.parse(OrderView, (await http.get(`/api/orders/${order.order_id}`)).json());
    v.parse(v.array(Product), (await http.get('/api/products')).json());
    expect(() => v.parse(Product, { product_id: randomUUID(), name: 'x', price: 12.345 })).to.throw(/at most 2 decimals/);
  });

  describe('ETag and If-None-Match (express default weak ETags, kept on purpose)', () => {
    let redis: RedisClient;

    before(async () => {
      redis = createRedis(BASE_REDIS_URL, createLogger('openapi-test', 'silent'));
      await waitFor(() => redis.isReady, { what: 'redis' });
    });

    after(() => redis?.destroy());

    it('GET /api/orders/{id} answers 304 to its ETag, from Postgres and from the cache alike, and 200 with a new tag after a status change', async () => {
      const { order_id: id } = (await http.post('/api/orders', orderBody())).json<{ order_id: string }>();
      const first = await http.get(`/api/orders/${id}`);
      const etag = first.headers.etag as string;
      expect(etag).to.match(/^W\/".+"$/);
      await waitFor(() => redis.exists(orderCacheKey(id)), { what: 'the cache entry' });
      const cached = await http.get(`/api/orders/${id}`, { headers: { 'if-none-match': etag } });
      expect(cached.status).to.equal(304);
      expect(cached.text).to.equal('');
      expect(cached.headers.etag).to.equal(etag);

      // What the consumer does when a payment lands: a new version, then the cache told.
      await sql`UPDATE orders SET status = 'PROCESSING', version = version + 1 WHERE order_id = ${id}`.execute(database.db);
      await invalidateOrder(redis, id, 2, 60);
      // Redis tells the API's client of the change by a message of its own, which may come a moment
      // after this test's write is answered: until then the API may still answer from its kept copy.
      const changed = await waitFor(
        async () => {
          const response = await http.get(`/api/orders/${id}`, { headers: { 'if-none-match': etag } });
          return response.status === 304 ? undefined : response;
        },
        // Well within the kept copy's own age limit: only the invalidation can make this pass.
        { timeoutMs: ORDER_READS_KEPT.maxAgeMs / 5, intervalMs: 10, what: 'the API to drop its copy of the old version' },
      );
      expect(changed.status).to.equal(200);
      expect(changed.json()).to.include({ status: 'PROCESSING' });
      expect(changed.headers.etag).to.be.a('string').and.not.equal(etag);
      expect((await http.get(`/api/orders/${id}`, { headers: { 'if-none-match': changed.headers.etag as string } })).status).to.equal(304);
    });

    it('GET /api/products answers 304 to its ETag, and an error never answers 304', async () => {
      const products = await http.get('/api/products');
      expect((await http.get('/api/products', { headers: { 'if-none-match': products.headers.etag as string } })).status).to.equal(304);
      const path = `/api/orders/${randomUUID()}`;
      const missing = await http.get(path);
      expect(missing.headers.etag).to.be.a('string');
      expectProblem(await http.get(path, { headers: { 'if-none-match': missing.headers.etag as string } }), 404);
    });
  });

  describe('every problem type resolves to its documentation', () => {
    const errorStatuses = Object.keys(STATUS_CODES).map(Number).filter((status) => status >= 400);

    it('each type the API can answer with (one per error status) is a page at its URI, as HTML and as JSON', async () => {
      expect(errorStatuses.length).to.be.greaterThan(30);
      for (const status of errorStatuses) {
        const { type, title } = new AppError(status, STATUS_CODES[status]!, 'x');
        const url = new URL(type, `${api.url}/api/orders/some-request`).pathname;
        const html = await http.get(url);
        expect(html.status, type).to.equal(200);
        expect(html.headers['content-type'], type).to.match(/^text\/html/);
        expect(html.text, type).to.include(`<h1>${status} ${title.replaceAll("'", '&#39;')}</h1>`);
        const json = await http.get(url, { headers: { accept: 'application/json' } });
        expect(json.json(), type).to.deep.include({ type, title, status });
      }
    });

    it("a real problem's type, resolved against its request URL, is the page of its status", async () => {
      const problem = expectProblem(await http.get(`/api/orders/${randomUUID()}`), 404);
      const page = await http.get(new URL(problem.type, `${api.url}/api/orders/x`).pathname);
      expect(page.status).to.equal(200);
      expect(page.text).to.include('404 Not Found').and.include('X-Customer-Id');
    });

    it('an unknown problem type is a 404 problem', async () => {
      expectProblem(await http.get('/problems/no-such-type'), 404);
    });
  });

  describe('the documented response headers are sent (rate limit on)', () => {
    let limited: TestApi;
    let redis: RedisClient;
    const buckets: string[] = [];

    before(async () => {
      limited = await startTestApi({
        databaseUrl: database.url,
        config: { API_RATE_LIMIT_ENABLED: true, API_RATE_LIMIT_MAX: 7, API_RATE_LIMIT_WINDOW_MS: 60_000, API_TRUST_PROXY_HOPS: 1 },
      });
      redis = limited.redis;
    });

    after(async () => {
      if (buckets.length > 0) await redis.del(buckets);
      await limited?.close();
    });

    const newClient = () => {
      const ip = uniqueClientIp();
      buckets.push(`rl:${ip}`);
      return client(limited.url, { headers: { 'x-forwarded-for': ip, 'content-type': 'application/json' } });
    };

    function expectDocumentedHeaders(response: HttpResponse, path: keyof Document['paths'], method: string, except: string[] = []) {
      const names = documentedHeaders(document, path, method, response.status).filter((name) => !except.includes(name));
      expect(names.length, `${method} ${path} ${response.status}`).to.be.greaterThan(0);
      for (const name of names) expect(response.headers, `${method} ${path} ${response.status}: ${name}`).to.have.property(name.toLowerCase());
    }

    it('on 201 (placed and replayed), 200, 304, 422 and 429', async () => {
      const http = newClient();
      const body = orderBody();
      const placed = await http.post('/api/orders', body, { headers: { 'idempotency-key': randomUUID() } });
      expect(placed.status).to.equal(201);
      expectDocumentedHeaders(placed, '/api/orders', 'post', ['Idempotent-Replayed']);
      expect(placed.headers).not.to.have.property('idempotent-replayed');
      expect(placed.headers.location).to.equal(`/api/orders/${placed.json<{ order_id: string }>().order_id}`);

      const key = randomUUID();
      await http.post('/api/orders', body, { headers: { 'idempotency-key': key } });
      const replayed = await http.post('/api/orders', body, { headers: { 'idempotency-key': key } });
      expect(replayed.headers['idempotent-replayed']).to.equal('true');
      expectDocumentedHeaders(replayed, '/api/orders', 'post');

      const read = await http.get(placed.headers.location as string);
      expectDocumentedHeaders(read, '/api/orders/{order_id}', 'get');
      const notModified = await http.get(placed.headers.location as string, { headers: { 'if-none-match': read.headers.etag as string } });
      expect(notModified.status).to.equal(304);
      expectDocumentedHeaders(notModified, '/api/orders/{order_id}', 'get');
      const invalid = await http.post('/api/orders', {});
      expect(invalid.status).to.equal(422);
      expectDocumentedHeaders(invalid, '/api/orders', 'post');
      const products = await http.get('/api/products');
      expectDocumentedHeaders(products, '/api/products', 'get');

      // 7 requests so far, the limit: the next is over it.
      const refused = await http.get('/api/products');
      expect(refused.status).to.equal(429);
      expectDocumentedHeaders(refused, '/api/products', 'get');
      expect(Number(refused.headers['retry-after'])).to.be.within(1, 60);
    });
  });
});
