import http from 'node:http';
import { expect } from 'chai';
import { BODY_LIMIT_BYTES } from '@order-service/shared';
import {
  createTestDatabase,
  expectRefused,
  neverEndingRequests,
  orderPostHead,
  oversizedRequests,
  rawExchange,
  unsupportedVersionRequests,
  type TestDatabase,
} from '@order-service/testkit';
import { client, countRows, orderBody, startTestApi, type TestApi } from './support/test-api';

/** Short, so the slow cases take a second; the fault tests run the 10 s default against the process. */
const REQUEST_TIMEOUT_MS = 1_000;

describe('api: hostile HTTP input', () => {
  let database: TestDatabase;
  let api: TestApi;

  before(async () => {
    database = await createTestDatabase('api_hostile');
    api = await startTestApi({ databaseUrl: database.url, requestTimeoutMs: REQUEST_TIMEOUT_MS });
  });

  after(async () => {
    await api?.close();
    await database?.drop();
  });

  describe('408 for a request that never arrives in full', () => {
    for (const { name, request } of neverEndingRequests()) {
      it(`${name}: 408 once the request timeout passes, the connection closed, nothing stored`, async () => {
        const before = await countRows(database.db);
        const answer = await rawExchange(api.url, { ...request, deadlineMs: REQUEST_TIMEOUT_MS + 5_000 });
        expectRefused(answer, 408, REQUEST_TIMEOUT_MS + 1_500);
        expect(answer.answeredAfterMs).to.be.at.least(REQUEST_TIMEOUT_MS - 50);
        expect(await countRows(database.db)).to.deep.equal(before);
      });
    }

    it('a body that arrives slowly but within the timeout is taken', async () => {
      const body = JSON.stringify(orderBody());
      const request = http.request(`${api.url}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        agent: false,
      });
      const answered = new Promise<number>((resolve, reject) => {
        request.once('response', (response) => resolve(response.resume().statusCode ?? 0));
        request.once('error', reject);
      });
      request.write(body.slice(0, 10));
      setTimeout(() => request.end(body.slice(10)), REQUEST_TIMEOUT_MS / 2);
      expect(await answered).to.equal(201);
    });

    it('a keep-alive connection serves request after request for longer than the timeout', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const http1 = client(api.url);
      try {
        const ports = new Set<number>();
        const started = Date.now();
        while (Date.now() - started < REQUEST_TIMEOUT_MS * 3) {
          const port = await new Promise<number>((resolve, reject) => {
            http
              .get(`${api.url}/healthz`, { agent }, (response) => {
                expect(response.statusCode).to.equal(200);
                resolve(response.socket.localPort!);
                response.resume();
              })
              .once('error', reject);
          });
          ports.add(port);
          // Idle well below the keep-alive timeout between requests, as a busy client would.
          await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS / 3));
        }
        expect(ports.size, 'one connection throughout').to.equal(1);
        expect((await http1.post('/api/orders', orderBody())).status).to.equal(201);
      } finally {
        agent.destroy();
      }
    });
  });

  describe('413 for a declared body over 1 MiB, before any of it is read', () => {
    for (const { name, request } of oversizedRequests()) {
      it(`${name}: 413 within 1 s of the headers, the connection closed`, async () => {
        const before = await countRows(database.db);
        expectRefused(await rawExchange(api.url, { ...request, deadlineMs: 5_000 }), 413, 1_000);
        expect(await countRows(database.db)).to.deep.equal(before);
      });
    }

    it('a body of exactly 1 MiB is read and taken', async () => {
      const order = JSON.stringify(orderBody());
      // Trailing whitespace is valid JSON: the order padded to the limit.
      const body = order + ' '.repeat(BODY_LIMIT_BYTES - order.length);
      const answer = await rawExchange(api.url, { head: orderPostHead(`Content-Length: ${body.length}\r\nConnection: close\r\n`) + body, deadlineMs: 5_000 });
      expect(answer.status, answer.raw.slice(0, 300)).to.equal(201);
    });

    it('a small body expecting 100-continue is invited and taken', async () => {
      const body = JSON.stringify(orderBody());
      const head = orderPostHead(`Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n`);
      const answer = await rawExchange(api.url, { head: head + body, deadlineMs: 5_000 });
      expect(answer.raw).to.match(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 201 /);
    });
  });

  describe('400 for a request that is not HTTP/1.x', () => {
    for (const { name, request } of unsupportedVersionRequests()) {
      it(`${name}: 400, the connection closed, nothing stored`, async () => {
        const before = await countRows(database.db);
        expectRefused(await rawExchange(api.url, { ...request, deadlineMs: 5_000 }), 400, 1_000);
        expect(await countRows(database.db)).to.deep.equal(before);
      });
    }

    it('HTTP/1.0 is still served', async () => {
      const answer = await rawExchange(api.url, { head: 'GET /api/products HTTP/1.0\r\n\r\n', deadlineMs: 5_000 });
      expect(answer.status).to.equal(200);
    });
  });

  describe('afterwards', () => {
    it('the api is alive and ready', async () => {
      const http1 = client(api.url);
      expect((await http1.get('/healthz')).status).to.equal(200);
      expect((await http1.get('/readyz')).status).to.equal(200);
    });
  });
});
