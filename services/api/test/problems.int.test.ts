import { randomUUID } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { expect } from 'chai';
import { createTestDatabase, type TestDatabase } from '@order-service/testkit';
import { expectProblem } from './support/problem';
import { Products, client, countRows, orderBody, startTestApi, type TestApi } from './support/test-api';

describe('api: every failure is an RFC 9457 problem and stores nothing', () => {
  let database: TestDatabase;
  let api: TestApi;
  let http: ReturnType<typeof client>;

  before(async () => {
    database = await createTestDatabase('api_problems');
    api = await startTestApi({ databaseUrl: database.url });
    http = client(api.url);
  });

  after(async () => {
    await api?.close();
    await database?.drop();
  });

  /** Sends a request that must be refused, and checks that no table gained a row. */
  async function refused(send: () => ReturnType<typeof http.post>) {
    const before = await countRows(database.db);
    const response = await send();
    expect(await countRows(database.db)).to.deep.equal(before);
    return response;
  }

  const post = (body: unknown, headers: Record<string, string> = {}) =>
    refused(() => http.post('/api/orders', body, { headers: { 'content-type': 'application/json', ...headers } }));

  describe('400 Bad Request', () => {
    it('malformed JSON is a 400', async () => {
      const problem = expectProblem(await post('{"customer_id": "'), 400);
      expect(problem.detail).to.match(/not valid JSON/);
    });

    for (const body of ['"x"', 'null', '1', 'true']) {
      it(`a JSON body that is not an object (${body}) is a 400, never a 500`, async () => {
        expectProblem(await post(body), 400);
      });
    }

    it('a corrupt gzip body is a 400, never a 500', async () => {
      const corrupt = await refused(() =>
        http.post('/api/orders', 'not gzip at all', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' } }),
      );
      expectProblem(corrupt, 400);
      // A well-formed gzip body is accepted, so the 400 is about the corruption.
      const gzipped = await http.post('/api/orders', gzipSync(JSON.stringify(orderBody())), {
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      });
      expect(gzipped.status, gzipped.text).to.equal(201);
    });

    it('a malformed order id is a 400, not a 404', async () => {
      const problem = expectProblem(await http.get('/api/orders/not-a-uuid'), 400);
      expect(problem.detail).to.match(/order_id/);
    });

    it('a broken percent-escape in the path is a 400, never a 500', async () => {
      expectProblem(await http.get('/api/orders/%E0%A4%A'), 400);
    });

    it('an empty or over-long Idempotency-Key is a 400', async () => {
      expectProblem(await post(orderBody(), { 'idempotency-key': '' }), 400);
      const problem = expectProblem(await post(orderBody(), { 'idempotency-key': 'k'.repeat(256) }), 400);
      expect(problem.detail).to.match(/Idempotency-Key/);
    });

    it('a bad Idempotency-Key is reported as such even when the body is invalid too', async () => {
      expectProblem(await post({}, { 'idempotency-key': 'k'.repeat(256) }), 400);
    });
  });

  describe('404 Not Found', () => {
    it('an unknown order is a 404 naming the id', async () => {
      const id = randomUUID();
      const problem = expectProblem(await http.get(`/api/orders/${id}`), 404);
      expect(problem.detail).to.include(id);
    });

    for (const [method, path] of [
      ['GET', '/api/nope'],
      ['GET', '/nope'],
      ['GET', '/api/orders'],
      ['DELETE', `/api/orders/${randomUUID()}`],
      ['PUT', '/api/orders'],
    ] as const) {
      it(`an unknown route (${method} ${path}) is a 404 problem`, async () => {
        const problem = expectProblem(await http.send(method, path), 404);
        expect(problem.instance).to.equal(path);
      });
    }
  });

  describe('413 Payload Too Large', () => {
    it('a body over 1 MiB is refused before it is parsed', async () => {
      const body = JSON.stringify({ ...orderBody(), padding: 'x'.repeat(1024 * 1024) });
      expectProblem(await post(body), 413);
    });
  });

  describe('415 Unsupported Media Type', () => {
    for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      it(`a ${contentType} body is a 415, even when it holds valid JSON`, async () => {
        expectProblem(await post(JSON.stringify(orderBody()), { 'content-type': contentType }), 415);
      });
    }

    it('a body without a content type is a 415', async () => {
      expectProblem(await refused(() => http.send('POST', '/api/orders', { body: Buffer.from(JSON.stringify(orderBody())) })), 415);
    });
  });

  describe('422 Unprocessable Content', () => {
    const names = (problem: { invalid_params?: Array<{ name: string }> }) => problem.invalid_params!.map((p) => p.name);

    it('lists every invalid field at once', async () => {
      const problem = expectProblem(
        await post({ customer_id: 'nope', items: [{ product_id: 'also-nope', quantity: 0 }], shipping_address: '' }),
        422,
      );
      expect(names(problem)).to.include.members(['customer_id', 'items[0].product_id', 'items[0].quantity', 'shipping_address']);
      for (const param of problem.invalid_params!) expect(param.reason).to.be.a('string').and.not.equal('');
    });

    it('names missing fields', async () => {
      const problem = expectProblem(await post({}), 422);
      expect(names(problem)).to.include.members(['customer_id', 'items', 'shipping_address']);
    });

    it('a JSON array body is a 422, never a 500', async () => {
      expectProblem(await post('[]'), 422);
    });

    it('an unknown product is a 422 naming the line', async () => {
      const body = orderBody({ items: [{ product_id: Products.mug.id, quantity: 1 }, { product_id: randomUUID(), quantity: 1 }] });
      const problem = expectProblem(await post(body), 422);
      expect(problem.invalid_params).to.deep.equal([{ name: 'items[1].product_id', reason: 'unknown product' }]);
    });

    it('refuses no items and more than 100 items', async () => {
      expect(names(expectProblem(await post(orderBody({ items: [] })), 422))).to.deep.equal(['items']);
      const line = { product_id: Products.mug.id, quantity: 1 };
      const problem = expectProblem(await post(orderBody({ items: Array.from({ length: 101 }, () => line) })), 422);
      expect(problem.invalid_params).to.deep.equal([{ name: 'items', reason: 'must have at most 100 items' }]);
    });

    for (const quantity of [0, -1, 1001, 1.5, '3', null, 1e308]) {
      it(`refuses a quantity of ${JSON.stringify(quantity)}`, async () => {
        const problem = expectProblem(await post(orderBody({ items: [{ product_id: Products.mug.id, quantity }] })), 422);
        expect(names(problem)).to.include('items[0].quantity');
      });
    }

    for (const [label, address] of [
      ['over 500 characters', 'x'.repeat(501)],
      ['only whitespace', '   \n\t '],
      ['a NUL character', 'Main Street\u0000 1'],
      ['another control character', 'Main Street\u0007 1'],
      ['a lone UTF-16 surrogate', 'Main Street \ud800 1'],
      ['not a string', 42],
    ] as const) {
      it(`refuses a shipping address with ${label}`, async () => {
        const problem = expectProblem(await post(orderBody({ shipping_address: address })), 422);
        expect(names(problem)).to.deep.equal(['shipping_address']);
      });
    }

    it('a 1 MiB array of junk items is one short 422, never a 500', async () => {
      const body = JSON.stringify(orderBody({ items: Array.from({ length: 200_000 }, () => ({})) }));
      expect(body.length).to.be.below(1024 * 1024);
      const response = await post(body);
      const problem = expectProblem(response, 422);
      expect(problem.invalid_params).to.deep.equal([{ name: 'items', reason: 'must have at most 100 items' }]);
      expect(response.text.length).to.be.below(1_000);
    });

    it('deeply nested JSON is a 422, never a 500', async () => {
      const depth = 100_000;
      expectProblem(await post('['.repeat(depth) + ']'.repeat(depth)), 422);
      const nestedItems = JSON.stringify(orderBody({ items: 'NESTED' })).replace('"NESTED"', '['.repeat(depth) + ']'.repeat(depth));
      expectProblem(await post(nestedItems), 422);
    });
  });
});
