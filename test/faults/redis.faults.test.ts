import { randomInt, randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { orderCacheKey } from '@order-service/shared';
import { BASE_REDIS_URL, httpRequest, startTcpProxy, waitFor, type TcpProxy } from '@order-service/testkit';
import { startForwardingProxy, type ForwardingProxy } from './support/forwarding-proxy';
import { LimiterClients, expectRateLimited, failsOpen, getProducts, limitsNewClient } from './support/limiter';
import { spawnService, type RunningProcess } from './support/processes';
import { report, scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';
import { orderBody, placeOrders, postOrder } from './support/traffic';

const REDIS_TARGET = new URL(BASE_REDIS_URL);

describe('faults: Redis, and the rate limit behind a proxy', () => {
  let system: FaultSystem;
  /** The Redis of the rate-limited API replicas, through a proxy of their own. */
  let limiterRedis: TcpProxy;
  const limiterApis: RunningProcess[] = [];
  let limited: RunningProcess;
  let frontProxy: ForwardingProxy;
  const clients = new LimiterClients();

  /** An API replica with the limiter on (5 per minute), behind exactly one trusted proxy hop. */
  async function startLimitedApi(): Promise<RunningProcess> {
    const proc = spawnService(
      'api',
      system.env('api', {
        DATABASE_URL: system.database.url,
        REDIS_URL: limiterRedis.url(BASE_REDIS_URL),
        API_RATE_LIMIT_ENABLED: 'true',
        API_RATE_LIMIT_MAX: '5',
        API_RATE_LIMIT_WINDOW_MS: '60000',
        API_TRUST_PROXY_HOPS: '1',
        DB_POOL_MAX: '3',
      }),
    );
    const running = Object.assign(proc, { port: await proc.listening() });
    limiterApis.push(running);
    return running;
  }

  before(async () => {
    system = await sharedSystem();
    limiterRedis = await startTcpProxy(REDIS_TARGET.hostname, Number(REDIS_TARGET.port || 6379));
    limited = await startLimitedApi();
    frontProxy = await startForwardingProxy(limited.port);
  });
  after(async () => {
    await frontProxy?.close();
    await Promise.allSettled(limiterApis.map((api) => api.stop()));
    await limiterRedis?.close();
    if (clients.keys.length > 0) await system.redis.del(clients.keys);
  });

  /** Redis unusable for the API in `mode`: GETs come from Postgres in bounded time, POSTs are accepted, the limiter fails open. */
  async function whileRedisDown(mode: 'stall' | 'cut') {
    const ids = await placeOrders(system, 10);
    for (const id of ids) await httpRequest(`${system.apiUrl()}/api/orders/${id}`);
    await waitFor(async () => (await system.redis.exists(ids.map(orderCacheKey))) === ids.length, { what: 'the orders to be cached' });
    const outage = [system.proxies.apiRedis, limiterRedis];
    for (const proxy of outage) proxy[mode]();
    let slowest = 0;
    const timed = async <T>(request: () => Promise<T>) => {
      const started = Date.now();
      const result = await request();
      slowest = Math.max(slowest, Date.now() - started);
      return result;
    };
    try {
      for (const id of ids) {
        // A deadline of its own: a hanging GET fails the test instead of waiting for mocha.
        const response = await timed(() => httpRequest(`${system.apiUrl()}/api/orders/${id}`, { timeoutMs: 5_000 }));
        expect(response.status, response.text).to.equal(200);
        expect(response.json<{ order_id: string }>().order_id).to.equal(id);
      }
      const unknown = await timed(() => httpRequest(`${system.apiUrl()}/api/orders/${randomUUID()}`, { timeoutMs: 5_000 }));
      expect(unknown.status).to.equal(404);
      const products = await system.products();
      for (const baseUrl of [system.apiUrl(), frontProxy.url]) {
        const posted = await timed(() => postOrder(baseUrl, orderBody(products, `redis ${mode} street`), { timeoutMs: 5_000 }));
        expect(posted.status, posted.text).to.equal(201);
      }
      await failsOpen(frontProxy.url, clients);
    } finally {
      for (const proxy of outage) proxy.restore();
    }
    report(`redis-${mode}: slowest request while Redis was down took ${slowest} ms (deadline 5000 ms)`);
    // Healed: the limiter limits again.
    await waitFor(() => limitsNewClient(frontProxy.url, clients), { timeoutMs: 30_000, intervalMs: 500, what: 'the limiter to limit again' });
  }

  it('Redis stalled: GETs from Postgres in bounded time, POSTs accepted, the limiter fails open, then limits again', async () => {
    await scenario(system, 'redis-stalled', () => whileRedisDown('stall'));
  });

  it('Redis gone: the same', async () => {
    await scenario(system, 'redis-gone', () => whileRedisDown('cut'));
  });

  it('SCRIPT FLUSH: the limiter still limits, a client at its limit stays limited', async () => {
    await scenario(system, 'redis-script-flush', async () => {
      expect(await limitsNewClient(frontProxy.url, clients)).to.equal(true);
      const atLimit = clients.fresh();
      for (let i = 0; i < 5; i += 1) expect((await getProducts(frontProxy.url, atLimit)).status).to.equal(200);
      await system.redis.sendCommand(['SCRIPT', 'FLUSH']);
      expectRateLimited(await getProducts(frontProxy.url, atLimit));
      expect(await limitsNewClient(frontProxy.url, clients), 'a new client after SCRIPT FLUSH').to.equal(true);
    });
  });

  it('Redis restarted (connections dropped, then back): the limiter still limits and the cache is used again', async () => {
    await scenario(system, 'redis-restart', async () => {
      for (const proxy of [system.proxies.apiRedis, limiterRedis]) proxy.cut();
      for (const proxy of [system.proxies.apiRedis, limiterRedis]) proxy.restore();
      await waitFor(() => limitsNewClient(frontProxy.url, clients), { timeoutMs: 30_000, intervalMs: 500, what: 'the limiter to limit again' });
      const [id] = await placeOrders(system, 1);
      await waitFor(
        async () => {
          await httpRequest(`${system.apiUrl()}/api/orders/${id}`);
          return system.redis.exists(orderCacheKey(id!));
        },
        { timeoutMs: 30_000, intervalMs: 500, what: 'the api to cache again' },
      );
    });
  });

  it('an API replica started while Redis is down: fails open, then limits once Redis is back', async () => {
    await scenario(system, 'limiter-start-without-redis', async () => {
      limiterRedis.cut();
      let late: RunningProcess;
      try {
        late = await startLimitedApi();
        await failsOpen(`http://127.0.0.1:${late.port}`, clients);
      } finally {
        limiterRedis.restore();
      }
      await waitFor(() => limitsNewClient(`http://127.0.0.1:${late.port}`, clients), {
        timeoutMs: 30_000,
        intervalMs: 500,
        what: 'the replica started without Redis to limit',
      });
      // The first replica lost its Redis connection too; healed means both limit again.
      await waitFor(() => limitsNewClient(frontProxy.url, clients), { timeoutMs: 30_000, intervalMs: 500, what: 'the first replica to limit again' });
    });
  });

  it('rotating X-Forwarded-For behind the trusted proxy does not escape the limit, and no ERR_ERL_* warning is logged', async () => {
    await scenario(system, 'rate-limit-behind-proxy', async () => {
      await waitFor(() => limitsNewClient(frontProxy.url, clients), { timeoutMs: 30_000, intervalMs: 500, what: 'the limiter to work' });
      const ip = clients.fresh();
      const statuses: number[] = [];
      for (let i = 0; i < 10; i += 1) {
        const spoofed = `${randomInt(1, 223)}.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
        const response = await getProducts(frontProxy.url, ip, { 'x-forwarded-for': spoofed });
        statuses.push(response.status);
      }
      expect(statuses).to.deep.equal([200, 200, 200, 200, 200, 429, 429, 429, 429, 429]);
      for (const api of limiterApis) {
        const output = JSON.stringify(api.logs) + api.stderr();
        expect(output, `api log mentions express-rate-limit validation`).not.to.include('ERR_ERL_');
      }
    });
  });
});
