import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { httpRequest, waitFor, type HttpResponse } from '@order-service/testkit';
import { scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';
import { orderBody, postOrder, startTraffic } from './support/traffic';

/** Words that would mean SQL, driver text or a stack trace leaked into a response. */
const LEAKS = /\b(select|insert|update|from|where|returning)\b|ECONN|ETIMEDOUT|EPIPE|57P0|08006|terminat|pg-pool|node_modules|postgres|kysely|\.ts:\d+|\bat [\w.<>]+ \(/i;

/** A 503 problem that says only that a dependency is down, with the API's security headers. */
function expectCleanUnavailable(status: number, headers: Record<string, string | string[] | undefined>, text: string) {
  expect(status, text).to.equal(503);
  expect(headers['content-type']).to.match(/^application\/problem\+json/);
  const problem = JSON.parse(text) as { status: number; title: string; detail: string };
  expect(problem.status).to.equal(503);
  expect(text).not.to.match(LEAKS);
  expect(headers['retry-after']).to.match(/^\d+$/);
  expect(headers['x-content-type-options']).to.equal('nosniff');
  expect(headers['content-security-policy']).to.be.a('string');
  expect(headers['strict-transport-security']).to.be.a('string');
  expect(headers['x-frame-options']).to.be.a('string');
  expect(headers['cross-origin-resource-policy']).to.equal('same-origin');
  expect(headers['referrer-policy']).to.be.a('string');
  expect(headers['x-powered-by']).to.equal(undefined);
}

describe('faults: Postgres failing under the API', () => {
  let system: FaultSystem;
  before(async () => {
    system = await sharedSystem();
  });

  it("with Postgres gone, every request is a clean 503 problem with the API's security headers; it recovers by itself", async () => {
    await scenario(system, 'postgres-gone', async () => {
      const products = await system.products();
      system.proxies.apiPostgres.cut();
      try {
        const responses: HttpResponse[] = [
          await httpRequest(`${system.apiUrl()}/api/orders`, { method: 'POST', body: orderBody(products, 'no database street') }),
          await httpRequest(`${system.apiUrl()}/api/orders/${randomUUID()}`),
          await httpRequest(`${system.apiUrl()}/api/products`),
        ];
        for (const response of responses) expectCleanUnavailable(response.status, response.headers, response.text);
      } finally {
        system.proxies.apiPostgres.restore();
      }
      await waitFor(async () => (await postOrder(system.apiUrl(), orderBody(products, 'recovered street'))).status === 201, {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: 'the api to take orders again',
      });
    });
  });

  it('with Postgres not answering (a stalled network), a request on a pooled connection still ends in a clean 503', async () => {
    await scenario(system, 'postgres-stalled', async () => {
      // Warm the pool, so the next request gets a connection that is open but will never answer.
      expect((await httpRequest(`${system.apiUrl()}/api/products`)).status).to.equal(200);
      system.proxies.apiPostgres.stall();
      try {
        // The database's own statement_timeout (10 s) cannot help: the statement never reaches it.
        const response = await httpRequest(`${system.apiUrl()}/api/products`, { timeoutMs: 20_000 });
        expectCleanUnavailable(response.status, response.headers, response.text);
      } finally {
        system.proxies.apiPostgres.restore();
      }
    });
  });

  it('with Postgres cut while requests are in flight, each answer is a 201 (then delivered) or a clean 503, never a hang or a 500', async () => {
    await scenario(system, 'postgres-cut-mid-request', async () => {
      const traffic = startTraffic(system, { concurrency: 6, pauseMs: 0, address: 'cut mid request street' });
      try {
        await waitFor(() => traffic.accepted.length >= 20, { timeoutMs: 60_000, what: 'orders to flow' });
        system.proxies.apiPostgres.cut();
        try {
          await waitFor(() => (traffic.refused.get(503) ?? 0) >= 10, { timeoutMs: 30_000, what: 'requests to fail' });
        } finally {
          system.proxies.apiPostgres.restore();
        }
        const target = traffic.accepted.length + 20;
        await waitFor(() => traffic.accepted.length >= target, { timeoutMs: 60_000, what: 'orders to flow again' });
      } finally {
        await traffic.stop();
      }
      expect([...traffic.refused.keys()], 'statuses other than 201').to.deep.equal([503]);
      for (const refusal of traffic.refusals) expectCleanUnavailable(refusal.status, refusal.headers, refusal.text);
    });
  });
});
