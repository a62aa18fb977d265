import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { Connection } from 'rabbitmq-client';
import { BASE_RABBITMQ_URL, createTestDatabase, startTcpProxy, type TcpProxy, type TestDatabase } from '@order-service/testkit';
import { Products, client, orderBody, startTestApi, type TestApi } from './support/test-api';

describe('api: health, readiness, metrics, catalog and documentation', () => {
  let database: TestDatabase;
  let api: TestApi;
  let http: ReturnType<typeof client>;
  let rabbitProxy: TcpProxy;
  let rabbit: Connection;

  before(async () => {
    database = await createTestDatabase('api_ops');
    // RabbitMQ stays cut for this file, to show that readiness reports it without failing on it.
    const broker = new URL(BASE_RABBITMQ_URL);
    rabbitProxy = await startTcpProxy(broker.hostname, Number(broker.port || 5672));
    rabbitProxy.cut();
    rabbit = new Connection({ url: rabbitProxy.url(BASE_RABBITMQ_URL), retryLow: 100, retryHigh: 1_000 });
    rabbit.on('error', () => {});
    api = await startTestApi({
      databaseUrl: database.url,
      optionalChecks: { redis: async () => (await api.redis.ping()) === 'PONG', rabbitmq: async () => rabbit.ready },
    });
    http = client(api.url);
  });

  after(async () => {
    await api?.close();
    await rabbit?.close();
    await rabbitProxy?.close();
    await database?.drop();
  });

  it('GET /healthz answers 200 while the process is alive', async () => {
    const response = await http.get('/healthz');
    expect(response.status).to.equal(200);
    expect(response.json()).to.deep.equal({ status: 'ok' });
  });

  it('GET /readyz is 200 with Postgres up, and lists Redis and RabbitMQ (down here) without failing on them', async () => {
    const response = await http.get('/readyz');
    expect(response.status).to.equal(200);
    expect(response.json()).to.deep.equal({ status: 'ready', checks: { postgres: 'up', redis: 'up', rabbitmq: 'down' } });
  });

  it('GET /api/products lists the catalog with prices as 2-decimal numbers', async () => {
    const response = await http.get('/api/products');
    expect(response.status).to.equal(200);
    const products = response.json<Array<{ product_id: string; name: string; price: number }>>();
    expect(products.map((p) => p.product_id)).to.have.members(Object.values(Products).map((p) => p.id));
    for (const product of products) {
      expect(Object.keys(product).sort()).to.deep.equal(['name', 'price', 'product_id']);
      expect(Math.round(product.price * 100) / 100).to.equal(product.price);
    }
    expect(products.find((p) => p.product_id === Products.filters.id)?.price).to.equal(0.1);
  });

  it('GET /metrics exports request durations labelled by route pattern, and the default metrics', async () => {
    const placed = await http.post('/api/orders', orderBody());
    await http.post('/api/orders', {});
    await http.get(`/api/orders/${placed.json<{ order_id: string }>().order_id}`);
    await http.get(`/api/orders/${randomUUID()}`);
    await http.get('/no/such/route');
    const response = await http.get('/metrics');
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.match(/^text\/plain/);
    const count = (labels: string) =>
      new RegExp(`^http_request_duration_seconds_count\\{method="${labels}"\\} [1-9]`, 'm').test(response.text);
    expect(count('POST",route="/api/orders",status_code="201'), response.text).to.equal(true);
    expect(count('POST",route="/api/orders",status_code="422')).to.equal(true);
    expect(count('GET",route="/api/orders/:order_id",status_code="200')).to.equal(true);
    expect(count('GET",route="/api/orders/:order_id",status_code="404')).to.equal(true);
    expect(count('GET",route="unmatched",status_code="404')).to.equal(true);
    // Raw URLs never become labels.
    expect(response.text).not.to.match(/route="\/api\/orders\/[0-9a-f]{8}-/);
    expect(response.text).to.match(/^process_cpu_user_seconds_total /m);
    expect(response.text).to.match(/^nodejs_eventloop_lag_seconds /m);
  });

  it("answers JSON with the API's security headers, and /docs with a document's", async () => {
    const documentOnly = [
      'cross-origin-opener-policy',
      'origin-agent-cluster',
      'x-dns-prefetch-control',
      'x-download-options',
      'x-permitted-cross-domain-policies',
      'x-xss-protection',
    ];
    for (const path of ['/healthz', '/api/products', '/api/orders/not-an-id', '/openapi.json']) {
      const { headers } = await http.get(path);
      expect(headers, path).to.include({
        'content-security-policy': "default-src 'none';frame-ancestors 'none'",
        'x-frame-options': 'DENY',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'cross-origin-resource-policy': 'same-origin',
      });
      expect(headers['strict-transport-security'], path).to.match(/^max-age=\d+/);
      for (const name of documentOnly) expect(headers, `${path} ${name}`).not.to.have.property(name);
    }
    const page = await http.get('/docs/');
    // helmet's default policy over the API's: the page's own scripts and styles may load.
    expect(page.headers['content-security-policy']).to.include("script-src 'self'").and.include("default-src 'self'");
    for (const name of documentOnly) expect(page.headers, `/docs ${name}`).to.have.property(name);
  });

  it('GET /docs renders the document as an HTML page', async () => {
    const redirect = await http.get('/docs');
    expect(redirect.status).to.equal(301);
    const response = await http.get('/docs/');
    expect(response.status).to.equal(200);
    expect(response.headers['content-type']).to.match(/^text\/html/);
    expect(response.text).to.include('swagger-ui');
    const init = await http.get('/docs/swagger-ui-init.js');
    expect(init.status).to.equal(200);
    expect(init.text).to.include('/api/orders/{order_id}');
  });
});
