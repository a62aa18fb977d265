import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import {
  createTestDatabase,
  createTestVhost,
  startOtlpReceiver,
  waitFor,
  type OtlpReceiver,
  type ReceivedSpan,
  type TestDatabase,
  type TestVhost,
} from '@order-service/testkit';
import { startOrderPath, type OrderPath } from './support';

const SERVICE_NAMES = ['order-service-api', 'order-service-relay', 'payment-simulator', 'order-service-consumer'];
const SERVER = 2;

describe('tracing, all processes exporting to an OTLP collector', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let collector: OtlpReceiver;
  let services: OrderPath | undefined;

  before(async () => {
    [database, vhost, collector] = await Promise.all([createTestDatabase('tracing'), createTestVhost('tracing'), startOtlpReceiver()]);
    services = await startOrderPath(database, vhost, {
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    });
  });
  after(async () => {
    if (services) await Promise.allSettled(Object.values(services).map((service) => service.stop('SIGKILL')));
    await Promise.allSettled([vhost?.drop(), database?.drop(), collector?.close()]);
  });

  it('one order makes one trace across api, relay, payment simulator and consumer, with HTTP and pg spans and no hole', async () => {
    const created = await fetch(`http://127.0.0.1:${services!.api.port}/api/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        customer_id: randomUUID(),
        items: [{ product_id: '11111111-1111-4111-8111-111111111111', quantity: 1 }],
        shipping_address: '1 Trace Street',
      }),
    });
    expect(created.status).to.equal(201);
    const { order_id: orderId } = (await created.json()) as { order_id: string };

    const post = await waitFor(() => collector.spans.find((s) => s.service === 'order-service-api' && s.kind === SERVER && s.name === 'POST /api/orders'), {
      timeoutMs: 20_000,
      what: "the api's HTTP server span",
    });
    const inTrace = () => collector.spans.filter((s) => s.traceId === post.traceId);
    // The consumer's span ends after the payment is applied; its pg spans end inside it.
    await waitFor(() => inTrace().some((s) => s.service === 'order-service-consumer' && s.scope === '@opentelemetry/instrumentation-pg'), {
      timeoutMs: 30_000,
      what: `the consumer's pg spans for order ${orderId}`,
    });
    const trace = inTrace();
    const describe = (s: ReceivedSpan) => `${s.service} ${s.scope} ${s.name}`;

    expect([...new Set(trace.map((s) => s.service))]).to.have.members(SERVICE_NAMES);
    expect(trace.filter((s) => s.scope === '@opentelemetry/instrumentation-http' && s.kind === SERVER).map(describe)).to.include(
      'order-service-api @opentelemetry/instrumentation-http POST /api/orders',
    );
    for (const service of ['order-service-api', 'order-service-consumer']) {
      expect(trace.some((s) => s.service === service && s.scope === '@opentelemetry/instrumentation-pg'), `pg spans of ${service}`).to.equal(true);
    }
    expect(trace.some((s) => s.service === 'order-service-api' && s.scope === '@opentelemetry/instrumentation-express')).to.equal(true);

    // No hole: one root (the POST), and every other span's parent is a span of the same trace.
    await waitFor(() => inTrace().every((s) => s.parentSpanId === '' || inTrace().some((p) => p.spanId === s.parentSpanId)), {
      what: 'every parent span of the trace to arrive',
    }).catch(() => {});
    const ids = new Set(inTrace().map((s) => s.spanId));
    expect(inTrace().filter((s) => s.parentSpanId === '').map(describe)).to.deep.equal([describe(post)]);
    expect(inTrace().filter((s) => s.parentSpanId !== '' && !ids.has(s.parentSpanId)).map(describe), 'spans whose parent is missing').to.deep.equal([]);

    // The chain of hops, each a child of the one before: api → relay → payment side → consumer.
    const byId = new Map(inTrace().map((s) => [s.spanId, s]));
    const consumerSpan = inTrace().find((s) => s.service === 'order-service-consumer' && s.kind === 5)!;
    const hops: string[] = [];
    for (let span: ReceivedSpan | undefined = consumerSpan; span; span = byId.get(span.parentSpanId)) {
      if (hops.at(-1) !== span.service) hops.push(span.service);
    }
    expect(hops.reverse()).to.deep.equal(SERVICE_NAMES);
  });

  it('with tracing on, every process still exits 0 on SIGTERM (the exporter shuts down last)', async () => {
    const codes = await Promise.all(Object.values(services!).map((service) => service.stop('SIGTERM')));
    expect(codes).to.deep.equal([0, 0, 0, 0]);
  });
});
