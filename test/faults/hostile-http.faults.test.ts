import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import {
  expectRefused,
  httpRequest,
  neverEndingRequests,
  oversizedRequests,
  rawExchange,
  unsupportedVersionRequests,
  waitFor,
  type HostileRequest,
  type HttpResponse,
  type RawAnswer,
} from '@order-service/testkit';
import { startCountingProxy } from './support/counting-proxy';
import { report, scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';
import { orderBody, postOrder } from './support/traffic';

/** The system's api runs with the default API_REQUEST_TIMEOUT_MS, as an operator runs it. */
const REQUEST_TIMEOUT_MS = 10_000;

async function storedRows(system: FaultSystem) {
  const { rows } = await sql<{ orders: number; keys: number }>`
    SELECT (SELECT count(*)::int FROM orders) AS orders, (SELECT count(*)::int FROM idempotency_keys) AS keys`.execute(system.database.db);
  return rows[0]!;
}

/** Alive (public port) and ready (the ops port, if it has one): readiness is shared for a second, so it may take that long to show. */
async function expectAliveAndReady(url: string, opsUrl = url) {
  expect((await httpRequest(`${url}/healthz`)).status).to.equal(200);
  await waitFor(async () => (await httpRequest(`${opsUrl}/readyz`)).status === 200, { what: `${opsUrl}/readyz to answer 200` });
}

const exchange = (url: string, { request }: HostileRequest, deadlineMs: number) => rawExchange(url, { ...request, deadlineMs });

const timings = (answers: RawAnswer[]) => answers.map((answer) => `${answer.answeredAfterMs}`).join('/');

describe('faults: hostile HTTP input against the running api', () => {
  let system: FaultSystem;
  before(async () => {
    system = await sharedSystem();
  });

  it('a request that never arrives in full gets 408 within the timeout and a second, its connection closed', async () => {
    await scenario(system, 'hostile-never-ending', async () => {
      const before = await storedRows(system);
      const requests = neverEndingRequests();
      // All at once: each holds its connection, none delays another.
      const answers = await Promise.all(requests.map((request) => exchange(system.apiUrl(), request, REQUEST_TIMEOUT_MS + 10_000)));
      report(`408 after ${timings(answers)} ms (${requests.map((r) => r.name).join(' / ')})`);
      answers.forEach((answer, i) => {
        expect(answer.answeredAfterMs, requests[i]!.name).to.be.at.least(REQUEST_TIMEOUT_MS - 100);
        expectRefused(answer, 408, REQUEST_TIMEOUT_MS + 1_500);
      });
      expect(await storedRows(system)).to.deep.equal(before);
      await expectAliveAndReady(system.apiUrl());
    });
  });

  it('a request declaring a body over 1 MiB gets 413 within 1 s of its headers, its connection closed', async () => {
    await scenario(system, 'hostile-oversized', async () => {
      const before = await storedRows(system);
      const answers: RawAnswer[] = [];
      for (const request of oversizedRequests()) {
        const answer = await exchange(system.apiUrl(), request, 5_000);
        answers.push(answer);
        expectRefused(answer, 413, 1_000);
      }
      report(`413 after at most ${Math.max(...answers.map((a) => a.answeredAfterMs!))} ms (${answers.length} requests)`);
      expect(await storedRows(system)).to.deep.equal(before);
      await expectAliveAndReady(system.apiUrl());
    });
  });

  it('a request that is not HTTP/1.x gets 400, its connection closed', async () => {
    await scenario(system, 'hostile-version', async () => {
      const before = await storedRows(system);
      for (const request of unsupportedVersionRequests()) expectRefused(await exchange(system.apiUrl(), request, 5_000), 400, 1_000);
      expect(await storedRows(system)).to.deep.equal(before);
      await expectAliveAndReady(system.apiUrl());
    });
  });

  it("an Idempotency-Key is its customer's own: racing customers sharing one get an order each", async () => {
    await scenario(system, 'hostile-shared-key', async () => {
      const products = await system.products();
      const key = `shared-${randomUUID()}`;
      const [a, b] = [orderBody(products, 'a street'), orderBody(products, 'b street')];
      const withKey = { headers: { 'idempotency-key': key } };
      const racing = await Promise.all(Array.from({ length: 10 }, (_, i) => postOrder(system.apiUrl(), i % 2 ? b : a, withKey)));
      for (const answer of racing) expect(answer.status, answer.text).to.equal(201);
      const orderOf = (customerId: string) =>
        system.database.db.selectFrom('orders').select('order_id').where('customer_id', '=', customerId).execute();
      const [ofA, ofB] = [await orderOf(a.customer_id), await orderOf(b.customer_id)];
      expect(ofA).to.have.length(1);
      expect(ofB).to.have.length(1);
      expect(new Set(racing.map((answer) => answer.orderId))).to.deep.equal(new Set([ofA[0]!.order_id, ofB[0]!.order_id]));

      const retry = await postOrder(system.apiUrl(), b, withKey);
      expect(retry.orderId).to.equal(ofB[0]!.order_id);
      expect(retry.headers['idempotent-replayed']).to.equal('true');
      expect((await postOrder(system.apiUrl(), { ...a, shipping_address: 'elsewhere' }, withKey)).status).to.equal(422);
      const keys = await system.database.db.selectFrom('idempotency_keys').select('customer_id').where('idempotency_key', '=', key).execute();
      expect(keys.map((row) => row.customer_id).sort()).to.deep.equal([a.customer_id, b.customer_id].sort());
    });
  });

  it('ids are case-insensitive: an owner in upper case sees its order, a stranger gets the 404 of an unknown id', async () => {
    await scenario(system, 'hostile-id-case', async () => {
      const owner = randomUUID();
      const placed = await postOrder(system.apiUrl(), { ...orderBody(await system.products(), 'case street'), customer_id: owner.toUpperCase() });
      expect(placed.status, placed.text).to.equal(201);
      const get = (id: string, customer: string) =>
        httpRequest(`${system.apiUrl()}/api/orders/${id.toUpperCase()}`, { headers: { 'x-customer-id': customer.toUpperCase() } });
      const own = await get(placed.orderId!, owner);
      expect(own.status).to.equal(200);
      expect(own.json<{ customer_id: string }>().customer_id).to.equal(owner);
      const stranger = randomUUID();
      const unknownId = randomUUID();
      const masked = (response: HttpResponse, id: string) => response.text.replaceAll(id, 'ID').replaceAll(id.toUpperCase(), 'ID');
      const theirs = await get(placed.orderId!, stranger);
      const unknown = await get(unknownId, stranger);
      expect(theirs.status).to.equal(404);
      expect(masked(theirs, placed.orderId!)).to.equal(masked(unknown, unknownId));
    });
  });

  it('with API_OPS_PORT, /readyz and /metrics leave the public port, and readiness asks Postgres at most once a second', async () => {
    const target = new URL(system.database.url);
    const postgres = await startCountingProxy(target.hostname, Number(target.port || 5432));
    const api = system.spawn('api', { API_OPS_PORT: '0', DATABASE_URL: postgres.url(system.database.url) });
    try {
      const publicUrl = `http://127.0.0.1:${await api.listening()}`;
      const opsUrl = `http://127.0.0.1:${api.logs.find((line) => line.msg === 'listening')!.opsPort as number}`;
      for (const path of ['/readyz', '/metrics']) expect((await httpRequest(`${publicUrl}${path}`)).status, path).to.equal(404);
      expect((await httpRequest(`${opsUrl}/metrics`)).text).to.include('http_request_duration_seconds');
      await expectAliveAndReady(publicUrl, opsUrl);

      // Twenty callers asking as fast as they can for 3 s.
      const bytesBefore = postgres.bytesUp;
      const started = Date.now();
      let asked = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (Date.now() - started < 3_000) {
            expect((await httpRequest(`${opsUrl}/readyz`)).status).to.equal(200);
            asked += 1;
          }
        }),
      );
      const bytes = postgres.bytesUp - bytesBefore;
      report(`${asked} /readyz in 3 s sent ${bytes} bytes to Postgres`);
      // One readiness query is well under 200 bytes; a query per request would send about `asked` of them.
      expect(asked).to.be.above(100);
      expect(bytes).to.be.at.most(4 * 200);
    } finally {
      await api.stop();
      await postgres.close();
    }
  });
});
