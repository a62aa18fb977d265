import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { orderCacheKey } from '@order-service/shared';
import { httpRequest, waitFor, type HttpResponse } from '@order-service/testkit';
import { scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';
import { orderBody, postOrder } from './support/traffic';

/** Headers that differ between any two responses, whatever they answer. */
const PER_RESPONSE = new Set(['date', 'etag', 'last-modified', 'x-request-id', 'traceparent', 'connection', 'keep-alive']);

/** What an outsider sees of a response, with the order id it asked for replaced by a placeholder. */
function outsideView(response: HttpResponse, askedId: string) {
  const headers = Object.fromEntries(Object.entries(response.headers).filter(([name]) => !PER_RESPONSE.has(name)));
  return { status: response.status, headers, body: response.text.replaceAll(askedId, '<id>') };
}

describe('faults: object access', () => {
  let system: FaultSystem;
  before(async () => {
    system = await sharedSystem();
  });

  it("someone else's order, cached or not, looks exactly like a random id from outside", async () => {
    await scenario(system, 'object-access', async () => {
      const products = await system.products();
      const owner = randomUUID();
      const stranger = randomUUID();
      const place = async () => {
        const placed = await postOrder(system.apiUrl(), { ...orderBody(products, 'private street'), customer_id: owner });
        expect(placed.status, placed.text).to.equal(201);
        return placed.orderId!;
      };
      const [cachedId, uncachedId] = [await place(), await place()];
      const get = (id: string, customer?: string) =>
        httpRequest(`${system.apiUrl()}/api/orders/${id}`, { headers: customer ? { 'x-customer-id': customer } : {} });

      expect((await get(cachedId, owner)).status, 'the owner reads the order').to.equal(200);
      await waitFor(() => system.redis.exists(orderCacheKey(cachedId)), { what: 'the order to be cached' });
      await system.redis.del(orderCacheKey(uncachedId));

      const randomId = randomUUID();
      const unknown = outsideView(await get(randomId, stranger), randomId);
      expect(unknown.status).to.equal(404);
      expect(outsideView(await get(cachedId, stranger), cachedId), "a stranger reading a cached order").to.deep.equal(unknown);
      expect(outsideView(await get(uncachedId, stranger), uncachedId), "a stranger reading an uncached order").to.deep.equal(unknown);
    });
  });
});
