import { expect } from 'chai';
import { sql } from 'kysely';
import { createLogger, createRedis, invalidateOrder, orderCacheKey, type RedisClient } from '@order-service/shared';
import { BASE_REDIS_URL, createTestDatabase, startTcpProxy, waitFor, type TcpProxy, type TestDatabase } from '@order-service/testkit';
import { client, orderBody, startTestApi, uniqueLoopbackIp, type TestApi } from './support/test-api';

describe('api: the Redis cache of GET /api/orders/{id}', () => {
  let database: TestDatabase;
  let redisProxy: TcpProxy;
  let api: TestApi;
  let http: ReturnType<typeof client>;
  /** The test's own view of Redis, not through the proxy. */
  let redis: RedisClient;
  const cachedIds: string[] = [];

  before(async () => {
    database = await createTestDatabase('api_cache');
    const target = new URL(BASE_REDIS_URL);
    redisProxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    redis = createRedis(BASE_REDIS_URL, createLogger('cache-test', 'silent'));
    await waitFor(() => redis.isReady, { what: 'redis' });
    // The limiter is on, so a stalled Redis also delays it; a loopback address of this
    // file's own keeps its bucket apart from every other test's.
    api = await startTestApi({
      databaseUrl: database.url,
      redisUrl: redisProxy.url(BASE_REDIS_URL),
      config: { API_RATE_LIMIT_ENABLED: true, API_RATE_LIMIT_MAX: 1_000_000 },
    });
    const ip = uniqueLoopbackIp();
    cachedIds.push(`rl:${ip}`);
    // A hang must fail the request, not the whole test run.
    http = client(api.url, { localAddress: ip, timeoutMs: 5_000 });
  });

  afterEach(async () => {
    redisProxy.restore();
    await waitFor(() => api.redis.isReady, { timeoutMs: 10_000, what: "the app's redis client to reconnect" });
  });

  after(async () => {
    await api?.close();
    await redisProxy?.close();
    if (redis && cachedIds.length > 0) await redis.del(cachedIds);
    redis?.destroy();
    await database?.drop();
  });

  async function placeOrder(): Promise<string> {
    const response = await http.post('/api/orders', orderBody());
    expect(response.status, response.text).to.equal(201);
    const { order_id } = response.json<{ order_id: string }>();
    cachedIds.push(orderCacheKey(order_id));
    return order_id;
  }

  it('a miss reads Postgres and fills the cache with the versioned body', async () => {
    const id = await placeOrder();
    expect(await redis.get(orderCacheKey(id))).to.equal(null);
    const response = await http.get(`/api/orders/${id}`);
    expect(response.status).to.equal(200);
    await waitFor(async () => (await redis.get(orderCacheKey(id))) === `1|${response.text}`, { what: 'the cache entry' });
    expect(await redis.ttl(orderCacheKey(id))).to.be.within(1, 60);
  });

  it('a hit is served from Redis, even when the row changed behind its back', async () => {
    const id = await placeOrder();
    const first = await http.get(`/api/orders/${id}`);
    await waitFor(() => redis.exists(orderCacheKey(id)), { what: 'the cache entry' });
    await sql`UPDATE orders SET shipping_address = 'changed in SQL' WHERE order_id = ${id}`.execute(database.db);
    const second = await http.get(`/api/orders/${id}`);
    expect(second.text).to.equal(first.text);
    expect(second.json()).to.include({ shipping_address: orderBody().shipping_address });
  });

  it("with X-Customer-Id, another customer's cached order looks exactly like an unknown id", async () => {
    const body = orderBody();
    const id = (await http.post('/api/orders', body)).json<{ order_id: string }>().order_id;
    cachedIds.push(orderCacheKey(id));
    const own = await http.get(`/api/orders/${id}`, { headers: { 'x-customer-id': body.customer_id } });
    expect(own.status).to.equal(200);
    await waitFor(() => redis.exists(orderCacheKey(id)), { what: 'the cache entry' });

    const stranger = { 'x-customer-id': crypto.randomUUID() };
    const unknownId = crypto.randomUUID();
    const theirs = await http.get(`/api/orders/${id}`, { headers: stranger });
    const unknown = await http.get(`/api/orders/${unknownId}`, { headers: stranger });
    expect(theirs.status).to.equal(404);
    expect(unknown.status).to.equal(404);
    const comparable = (headers: Record<string, unknown>) =>
      Object.keys(headers).filter((name) => !['date', 'etag', 'content-length'].includes(name)).sort();
    expect(comparable(theirs.headers)).to.deep.equal(comparable(unknown.headers));
    expect(theirs.text.replaceAll(id, 'ID')).to.equal(unknown.text.replaceAll(unknownId, 'ID'));
  });

  it('a tombstone at a newer version sends the next read to Postgres', async () => {
    const id = await placeOrder();
    await http.get(`/api/orders/${id}`);
    await waitFor(() => redis.exists(orderCacheKey(id)), { what: 'the cache entry' });
    // What the consumer does on a status change: bump the version, then invalidate.
    await sql`UPDATE orders SET status = 'PROCESSING', version = version + 1 WHERE order_id = ${id}`.execute(database.db);
    await invalidateOrder(redis, id, 2, 60);
    const response = await http.get(`/api/orders/${id}`);
    expect(response.json()).to.include({ status: 'PROCESSING' });
    await waitFor(async () => (await redis.get(orderCacheKey(id))) === `2|${response.text}`, { what: 'the refilled entry' });
  });

  /** Reads an order until the API's Redis client holds it in process (a GET answered from Redis is kept). */
  async function keptInProcess(id: string): Promise<string> {
    const first = await http.get(`/api/orders/${id}`);
    await waitFor(() => redis.exists(orderCacheKey(id)), { what: 'the cache entry' });
    const hits = () => api.redis.clientSideCache!.stats().hitCount;
    const before = hits();
    await waitFor(
      async () => {
        await http.get(`/api/orders/${id}`);
        return hits() > before;
      },
      { what: 'a read answered from the copy kept in process' },
    );
    return first.text;
  }

  it('a repeated hit is answered in process, and a tombstone written by another client still reaches it', async () => {
    const id = await placeOrder();
    await keptInProcess(id);
    await sql`UPDATE orders SET status = 'PROCESSING', version = version + 1 WHERE order_id = ${id}`.execute(database.db);
    await invalidateOrder(redis, id, 2, 60);
    // Redis pushes the invalidation to the API's connection; the next reads go to Postgres.
    await waitFor(async () => (await http.get(`/api/orders/${id}`)).json<{ status: string }>().status === 'PROCESSING', {
      what: 'the invalidated copy to be dropped',
    });
  });

  it('a hit answered in process sends what a read from Postgres sends, answers 304 to its tag and HEAD without a body, and hides another customer\'s order', async () => {
    const body = orderBody();
    const id = (await http.post('/api/orders', body)).json<{ order_id: string }>().order_id;
    cachedIds.push(orderCacheKey(id));
    const fromPostgres = await http.get(`/api/orders/${id}`);
    await keptInProcess(id);
    const hits = () => api.redis.clientSideCache!.stats().hitCount;
    const before = hits();
    const kept = await http.get(`/api/orders/${id}`);
    expect(hits()).to.be.above(before);
    expect(kept.status).to.equal(200);
    expect(kept.text).to.equal(fromPostgres.text);
    // Everything but the time and the rate limit's remaining count.
    const headers = (response: typeof kept) => Object.fromEntries(Object.entries(response.headers).filter(([name]) => !['date', 'ratelimit'].includes(name)));
    expect(headers(kept)).to.deep.equal(headers(fromPostgres));
    expect(kept.headers['content-type']).to.equal('application/json; charset=utf-8');
    expect(Number(kept.headers['content-length'])).to.equal(Buffer.byteLength(kept.text));

    const conditional = await http.get(`/api/orders/${id}`, { headers: { 'if-none-match': kept.headers.etag as string } });
    expect(conditional.status).to.equal(304);
    expect(conditional.text).to.equal('');
    const head = await http.send('HEAD', `/api/orders/${id}`);
    expect(head.status).to.equal(200);
    expect(head.text).to.equal('');
    expect(head.headers.etag).to.equal(kept.headers.etag);
    expect(head.headers['content-length']).to.equal(kept.headers['content-length']);

    expect((await http.get(`/api/orders/${id}`, { headers: { 'x-customer-id': body.customer_id } })).text).to.equal(kept.text);
    const stranger = await http.get(`/api/orders/${id}`, { headers: { 'x-customer-id': crypto.randomUUID() } });
    expect(stranger.status).to.equal(404);
    expect(hits()).to.be.above(before + 3);
  });

  it('with the link to Redis stalled, a copy kept in process goes stale for at most a second', async () => {
    const id = await placeOrder();
    await keptInProcess(id);
    redisProxy.stall();
    // The invalidation cannot reach the API now; the copy's age limit must send the read on.
    await sql`UPDATE orders SET status = 'PROCESSING', version = version + 1 WHERE order_id = ${id}`.execute(database.db);
    await invalidateOrder(redis, id, 2, 60);
    const changedAt = performance.now();
    await waitFor(async () => (await http.get(`/api/orders/${id}`)).json<{ status: string }>().status === 'PROCESSING', {
      timeoutMs: 5_000,
      what: 'the stale copy to age out',
    });
    // One second of age, plus one command timeout (200 ms) for the read that then goes to Redis.
    expect(performance.now() - changedAt).to.be.below(1_000 + 200 + 500);
  });

  it('with Redis cut, GET and POST still succeed from Postgres', async () => {
    const cachedId = await placeOrder();
    await http.get(`/api/orders/${cachedId}`);
    await waitFor(() => redis.exists(orderCacheKey(cachedId)), { what: 'the cache entry' });
    redisProxy.cut();
    const id = await placeOrder();
    for (const orderId of [id, cachedId]) {
      const response = await http.get(`/api/orders/${orderId}`);
      expect(response.status).to.equal(200);
      expect(response.json()).to.include({ order_id: orderId });
    }
  });

  it('with Redis stalled, GET and POST finish once the command timeout passes', async () => {
    const id = await placeOrder();
    redisProxy.stall();
    // Each request waits at most one command timeout (200 ms) per Redis call; the client's
    // 5 s deadline turns a hang into a failure.
    const created = await http.post('/api/orders', orderBody());
    expect(created.status, created.text).to.equal(201);
    const read = await http.get(`/api/orders/${id}`);
    expect(read.status).to.equal(200);
    expect(read.json()).to.include({ order_id: id });
  });
});
