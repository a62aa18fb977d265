import { expect } from 'chai';
import { createLogger, createRedis, type RedisClient } from '@order-service/shared';
import { BASE_REDIS_URL, createTestDatabase, startTcpProxy, waitFor, type HttpResponse, type TestDatabase } from '@order-service/testkit';
import { expectProblem } from './support/problem';
import { client, startTestApi, uniqueClientIp, uniqueLoopbackIp, type TestApi, type TestApiOptions } from './support/test-api';

/**
 * Every test uses client IPs of its own (an X-Forwarded-For entry behind one trusted proxy,
 * or a loopback source address), so its Redis bucket `rl:<ip>` is shared with no other test.
 */
describe('api: the per-IP rate limit on /api/*', () => {
  let database: TestDatabase;
  let redis: RedisClient;
  const apps: TestApi[] = [];
  const bucketKeys: string[] = [];

  before(async () => {
    database = await createTestDatabase('api_rate_limit');
    redis = createRedis(BASE_REDIS_URL, createLogger('rate-limit-test', 'silent'));
    await waitFor(() => redis.isReady, { what: 'redis' });
  });

  after(async () => {
    await Promise.all(apps.map((app) => app.close()));
    if (bucketKeys.length > 0) await redis.del(bucketKeys);
    redis?.destroy();
    await database?.drop();
  });

  async function startApp(options: Partial<TestApiOptions> = {}, trustProxyHops = 1) {
    const app = await startTestApi({
      databaseUrl: database.url,
      ...options,
      config: { API_RATE_LIMIT_ENABLED: true, API_RATE_LIMIT_MAX: 5, API_RATE_LIMIT_WINDOW_MS: 60_000, API_TRUST_PROXY_HOPS: trustProxyHops },
    });
    apps.push(app);
    return app;
  }

  /** A fresh client IP whose bucket is removed after the tests. */
  function newClientIp(make = uniqueClientIp) {
    const ip = make();
    bucketKeys.push(`rl:${ip}`);
    return ip;
  }

  const viaProxy = (app: TestApi, forwardedFor: string) => client(app.url, { headers: { 'x-forwarded-for': forwardedFor } });

  function expectLimited(response: HttpResponse) {
    const problem = expectProblem(response, 429);
    const retryAfter = Number(response.headers['retry-after']);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After: ${response.headers['retry-after']}`).to.equal(true);
    expect(response.headers.ratelimit).to.match(/^"5-in-1min"; r=0; t=\d+$/);
    expect(response.headers['ratelimit-policy']).to.match(/^"5-in-1min"; q=5; w=60; pk=:[A-Za-z0-9+/=]+:$/);
    expect(problem.detail).to.match(/retry in \d+ s/);
  }

  describe('two instances sharing one Redis', () => {
    let first: TestApi;
    let second: TestApi;

    before(async () => {
      first = await startApp();
      second = await startApp();
    });

    it('five requests spread over both instances pass, and the sixth on either is a 429', async () => {
      const ip = newClientIp();
      const [a, b] = [viaProxy(first, ip), viaProxy(second, ip)];
      const remaining: string[] = [];
      for (const http of [a, b, a, b, a]) {
        const response = await http.get('/api/products');
        expect(response.status, response.text).to.equal(200);
        remaining.push(String(response.headers.ratelimit));
      }
      expect(remaining.map((header) => /r=(\d+)/.exec(header)?.[1])).to.deep.equal(['4', '3', '2', '1', '0']);
      expectLimited(await b.get('/api/products'));
      expectLimited(await a.get('/api/products'));
      // Every /api route counts, unknown ones too.
      expectLimited(await a.get('/api/nope'));
    });

    it('health, readiness, metrics and docs are not limited', async () => {
      const ip = newClientIp();
      const http = viaProxy(first, ip);
      for (let i = 0; i < 6; i += 1) await http.get('/api/products');
      expectLimited(await http.get('/api/products'));
      for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/']) {
        expect((await http.get(path)).status, path).to.equal(200);
      }
    });

    it('other clients keep their own budget', async () => {
      const http = viaProxy(first, newClientIp());
      for (let i = 0; i < 6; i += 1) await http.get('/api/products');
      expect((await viaProxy(first, newClientIp()).get('/api/products')).status).to.equal(200);
    });
  });

  describe('client IP behind proxies', () => {
    it('with one trusted hop, a spoofed leftmost X-Forwarded-For entry does not change the bucket', async () => {
      const app = await startApp({}, 1);
      const ip = newClientIp();
      // With one proxy, the client is the last entry (the one that proxy appended).
      for (let i = 1; i <= 5; i += 1) {
        const response = await viaProxy(app, `10.0.0.${i}, ${ip}`).get('/api/products');
        expect(response.status).to.equal(200);
      }
      expectLimited(await viaProxy(app, `10.0.0.99, ${ip}`).get('/api/products'));
      expectLimited(await viaProxy(app, ip).get('/api/products'));
    });

    it('with no trusted proxy, X-Forwarded-For is ignored and the socket address is the client', async () => {
      const app = await startApp({}, 0);
      const ip = newClientIp(uniqueLoopbackIp);
      const spoofed = Array.from({ length: 6 }, () => uniqueClientIp());
      const statuses: number[] = [];
      for (const forwardedFor of spoofed) {
        const response = await client(app.url, { localAddress: ip, headers: { 'x-forwarded-for': forwardedFor } }).get('/api/products');
        statuses.push(response.status);
        if (response.status === 429) expectLimited(response);
      }
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
      expect(await redis.get(`rl:${ip}`)).to.equal('6');
      expect(await redis.exists(spoofed.map((address) => `rl:${address}`))).to.equal(0);
    });
  });

  describe('when Redis is down', () => {
    it('a limiter started while Redis is down fails open, and limits again once Redis is back', async () => {
      const target = new URL(BASE_REDIS_URL);
      const proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
      try {
        proxy.cut();
        // The store loads its scripts at start: here that fails, which must not disable it for good.
        const app = await startApp({ redisUrl: proxy.url(BASE_REDIS_URL), awaitRedis: false });
        const ip = newClientIp();
        const http = viaProxy(app, ip);
        for (let i = 0; i < 8; i += 1) {
          const response = await http.get('/api/products');
          expect(response.status, `request ${i + 1} with Redis down`).to.equal(200);
          expect(response.headers.ratelimit).to.equal(undefined);
        }
        proxy.restore();
        await waitFor(() => app.redis.isReady, { timeoutMs: 15_000, what: "the app's Redis client to reconnect" });
        const statuses: number[] = [];
        for (let i = 0; i < 6; i += 1) statuses.push((await http.get('/api/products')).status);
        expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429]);
        // A later outage fails open again.
        proxy.cut();
        expect((await http.get('/api/products')).status).to.equal(200);
      } finally {
        await proxy.close();
      }
    });
  });
});
