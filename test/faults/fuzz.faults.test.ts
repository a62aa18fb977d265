import { expect } from 'chai';
import fc from 'fast-check';
import { anyBody, anyOrderId, contentType, extraHeaders, invalidOrder, printableAscii, validOrder } from './support/fuzz-arbitraries';
import { startInProcessApi, type Answer, type InProcessApi } from './support/in-process-api';
import { mark } from './support/ledger';
import { expectConsistentOrder, type OrderInput } from './support/order-oracle';
import { report, scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';

/** Never a 5xx: the only deliberate one, 503, needs a dependency down, and none is here. */
function expectNoServerError(answer: Answer, what: string) {
  expect(answer.status, `${what} → ${answer.status}: ${answer.text.slice(0, 300)}`).to.be.below(500);
  if (answer.status >= 400) expect(answer.headers['content-type'], what).to.match(/^application\/problem\+json/);
}

describe('faults: property-based fuzzing of the API (fast-check, in process)', () => {
  let system: FaultSystem;
  let api: InProcessApi;
  let catalog: Map<string, string>;
  /** Every order id a 201 named; at the end these must be exactly the orders stored. */
  const created = new Set<string>();
  const statuses = new Map<number, number>();

  before(async () => {
    system = await sharedSystem();
    api = await startInProcessApi(system.database.url);
    const products = await system.database.db.selectFrom('products').select(['product_id', 'price']).execute();
    catalog = new Map(products.map((product) => [product.product_id, product.price]));
  });
  after(async () => {
    await api?.close();
  });

  const publishedText = (eventId: string) => system.audit.events.get(eventId)?.body;
  const post = async (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
    const answer = await api.send('POST', '/api/orders', { headers, body });
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status === 201) created.add((JSON.parse(answer.text) as { order_id: string }).order_id);
    return answer;
  };

  it('thousands of generated bodies, headers, content types and ids: no 5xx, invalid input stores nothing, valid input a consistent order', async () => {
    await scenario(system, 'api-fuzz', async () => {
      const before = await mark(system);
      const productIds = [...catalog.keys()];

      await fc.assert(
        fc.asyncProperty(validOrder(productIds), async (order) => {
          const answer = await post(JSON.stringify(order));
          expect(answer.status, answer.text).to.equal(201);
          await expectConsistentOrder(api.db, catalog, order as OrderInput, answer.text, publishedText);
        }),
        { numRuns: 300 },
      );

      await fc.assert(
        fc.asyncProperty(invalidOrder(productIds), async (order) => {
          const answer = await post(JSON.stringify(order));
          expect(answer.status, `${JSON.stringify(order).slice(0, 300)} → ${answer.text}`).to.equal(422);
          expectNoServerError(answer, 'invalid order');
        }),
        { numRuns: 600 },
      );

      await fc.assert(
        fc.asyncProperty(anyBody, async (body) => {
          const answer = await post(body);
          expectNoServerError(answer, `body ${body.slice(0, 100)}`);
          expect([201, 400, 413, 415, 422], answer.text).to.include(answer.status);
          if (answer.status === 201) await expectConsistentOrder(api.db, catalog, JSON.parse(body) as OrderInput, answer.text, publishedText);
        }),
        { numRuns: 700 },
      );

      await fc.assert(
        fc.asyncProperty(validOrder(productIds), contentType, extraHeaders, async (order, type, headers) => {
          const answer = await post(JSON.stringify(order), { ...headers, 'content-type': type.type });
          const what = `content-type ${JSON.stringify(type.type)}, headers ${JSON.stringify(headers)}`;
          expectNoServerError(answer, what);
          if (type.json === false) expect(answer.status, what).to.equal(415);
          if (answer.status === 201) {
            expect(type.json, `${what} was accepted as JSON`).to.not.equal(false);
            await expectConsistentOrder(api.db, catalog, order as OrderInput, answer.text, publishedText);
          }
        }),
        { numRuns: 500 },
      );

      const someCreated = [...created].slice(0, 20);
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(anyOrderId, fc.constantFrom(...someCreated).map((path) => ({ path, valid: true }))),
          fc.option(printableAscii(50)),
          async (id, customer) => {
            const answer = await api.send('GET', `/api/orders/${id.path}`, { headers: customer === null ? {} : { 'x-customer-id': customer } });
            expectNoServerError(answer, `GET ${id.path}`);
            expect([200, 400, 404], answer.text).to.include(answer.status);
            if (id.valid === false) expect(answer.status, id.path).to.be.oneOf([400, 404]);
          },
        ),
        { numRuns: 600 },
      );

      // An oversized body is refused before it is parsed.
      const huge = await post(JSON.stringify({ customer_id: 'x', items: [], shipping_address: 'y'.repeat(1_100_000) }));
      expect(huge.status).to.equal(413);

      // Invalid input stored nothing: the orders in the database are exactly the 201s.
      const rows = await system.database.db.selectFrom('orders').select('order_id').execute();
      const stored = rows.map((row) => row.order_id).filter((id) => !before.has(id));
      expect(new Set(stored)).to.deep.equal(created);
      report(`api-fuzz: ${[...statuses].sort(([a], [b]) => a - b).map(([status, count]) => `${status}×${count}`).join(' ')}`);
    });
  });
});
