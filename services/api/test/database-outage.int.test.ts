import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { createTestDatabase, startTcpProxy, waitFor, waitForLockWait, type TcpProxy, type TestDatabase } from '@order-service/testkit';
import { holdIdempotencyKey } from './support/locks';
import { expectProblem } from './support/problem';
import { client, countRows, orderBody, startTestApi, type TestApi } from './support/test-api';

describe('api: when Postgres goes away', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let api: TestApi;
  let http: ReturnType<typeof client>;

  before(async () => {
    database = await createTestDatabase('api_pg_outage');
    const target = new URL(database.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    api = await startTestApi({
      databaseUrl: proxy.url(database.url),
      optionalChecks: { redis: async () => (await api.redis.ping()) === 'PONG' },
    });
    http = client(api.url, { timeoutMs: 10_000 });
  });

  after(async () => {
    proxy?.restore();
    await api?.close();
    await proxy?.close();
    await database?.drop();
  });

  /** A 503 that says a dependency is down, and nothing about which driver said what. */
  function expectUnavailable(response: Awaited<ReturnType<typeof http.get>>) {
    const problem = expectProblem(response, 503);
    expect(response.headers['retry-after']).to.equal('1');
    expect(Object.keys(problem).sort()).to.deep.equal(['detail', 'instance', 'status', 'title', 'type']);
    expect(response.text).not.to.match(/terminated|connect|socket|pg|postgres|SELECT|INSERT/i);
  }

  /** Readiness is checked at most once a second, so a change shows within about that. */
  const readyzAnswering = (status: number) =>
    waitFor(
      async () => {
        const response = await http.get('/readyz');
        return response.status === status ? response : undefined;
      },
      { what: `/readyz to answer ${status}` },
    );

  it('answers 503 problem+json while Postgres is cut, and recovers by itself when it returns', async () => {
    const placed = await http.post('/api/orders', orderBody());
    expect(placed.status).to.equal(201);
    const { order_id } = placed.json<{ order_id: string }>();
    expect((await http.get('/readyz')).status).to.equal(200);

    proxy.cut();
    expectUnavailable(await http.post('/api/orders', orderBody()));
    expectUnavailable(await http.get(`/api/orders/${randomUUID()}`));
    expectUnavailable(await http.get('/api/products'));
    const readiness = await readyzAnswering(503);
    expect(readiness.json()).to.deep.equal({ status: 'not ready', checks: { postgres: 'down', redis: 'up' } });
    // Alive all the same: restarting the process would not bring Postgres back.
    expect((await http.get('/healthz')).status).to.equal(200);

    proxy.restore();
    await waitFor(async () => (await http.post('/api/orders', orderBody())).status === 201, { timeoutMs: 15_000, what: 'POST to recover' });
    expect((await http.get(`/api/orders/${order_id}`)).status).to.equal(200);
    expect((await http.get('/api/products')).status).to.equal(200);
    const recovered = await readyzAnswering(200);
    expect(recovered.json()).to.deep.equal({ status: 'ready', checks: { postgres: 'up', redis: 'up' } });
  });

  it('a connection cut in the middle of a request is a 503, never a crash, and a retry with its key makes one order', async () => {
    const key = randomUUID();
    const body = orderBody();
    const lock = await holdIdempotencyKey(database.url, body.customer_id, key);
    let before;
    try {
      before = await countRows(database.db);
      const pending = http.post('/api/orders', body, { headers: { 'idempotency-key': key } });
      await waitForLockWait(database.db, 'api-test');
      proxy.cut();
      expectUnavailable(await pending);
    } finally {
      await lock.release().catch(() => undefined);
      proxy.restore();
    }
    // The order is one statement, which commits on its own: whether the server still ran it
    // after the cut (it cancels it once it notices, within a second) cannot be known from the
    // client's side, as with a lost commit acknowledgement. The retry with the key tells.
    await waitFor(async () => (await http.get('/readyz')).status === 200, { timeoutMs: 15_000, what: 'readiness to recover' });
    const retry = await http.post('/api/orders', body, { headers: { 'idempotency-key': key } });
    expect(retry.status).to.equal(201);
    const after = await countRows(database.db);
    expect(after).to.deep.equal({
      orders: before.orders + 1,
      order_items: before.order_items + body.items.length,
      outbox: before.outbox + 1,
      idempotency_keys: before.idempotency_keys + 1,
    });
    await waitFor(async () => (await http.get('/readyz')).status === 200, { timeoutMs: 15_000, what: 'readiness to recover' });
  });
});
