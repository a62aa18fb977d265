import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { cacheOrder, createRedis, orderCacheKey, readCachedOrder, systemClock, type RedisClient } from '@order-service/shared';
import { startTcpProxy, waitFor, type TcpProxy } from '@order-service/testkit';
import { createCacheWriter, type CacheWriter } from '../src/cache-writer';
import { REDIS_URL, quietLogger } from './support';

describe('the cache writer', function () {
  this.timeout(30_000);
  let proxy: TcpProxy;
  let throughProxy: RedisClient;
  let direct: RedisClient;

  before(async () => {
    const target = new URL(REDIS_URL);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 6379));
    throughProxy = createRedis(proxy.url(REDIS_URL), quietLogger);
    direct = createRedis(REDIS_URL, quietLogger);
    await waitFor(() => throughProxy.isReady && direct.isReady, { what: 'redis connected' });
  });
  after(async () => {
    await Promise.allSettled([throughProxy?.close(), direct?.close()]);
    await proxy?.close();
  });

  it('a newer version replaces the cached order with a tombstone that an older write cannot undo', async () => {
    const orderId = randomUUID();
    const cache = createCacheWriter(direct, quietLogger, systemClock, 60);
    await cacheOrder(direct, orderId, 1, '{"status":"PENDING"}', 60);
    await cache.invalidate(orderId, 2);
    expect(await readCachedOrder(direct, orderId)).to.equal(null);
    // A slow reader that loaded version 1 before the change writes it back late: refused.
    await cacheOrder(direct, orderId, 1, '{"status":"PENDING"}', 60);
    expect(await readCachedOrder(direct, orderId)).to.equal(null);
    await cache.close();
  });

  it("stores an order's new body over the older copy, and an older write cannot undo it", async () => {
    const orderId = randomUUID();
    const cache = createCacheWriter(direct, quietLogger, systemClock, 60);
    await cacheOrder(direct, orderId, 1, '{"status":"PENDING"}', 60);
    await cache.store(orderId, 2, '{"status":"PROCESSING"}');
    expect(await direct.get(orderCacheKey(orderId))).to.equal('2|{"status":"PROCESSING"}');
    expect(await direct.ttl(orderCacheKey(orderId))).to.be.within(1, 60);
    await cacheOrder(direct, orderId, 1, '{"status":"PENDING"}', 60);
    expect(await readCachedOrder(direct, orderId)).to.equal('{"status":"PROCESSING"}');
    await cache.close();
  });

  // A body that cannot be stored waits as an invalidation, like an invalidation that cannot be sent.
  const writes = {
    'a body it could not store': (cache: CacheWriter, orderId: string) => cache.store(orderId, 2, '{"status":"PROCESSING"}'),
    'an invalidation it could not send': (cache: CacheWriter, orderId: string) => cache.invalidate(orderId, 2),
  };
  for (const [what, write] of Object.entries(writes)) {
    it(`while Redis is unreachable, ${what} is kept and delivered as an invalidation once Redis is back`, async () => {
      const orderId = randomUUID();
      const cache = createCacheWriter(throughProxy, quietLogger, systemClock, 60, { retryIntervalMs: 50 });
      await cacheOrder(direct, orderId, 1, '{"status":"PENDING"}', 60);
      proxy.cut();
      try {
        await waitFor(() => !throughProxy.isReady, { what: 'the client to notice' });
        await write(cache, orderId); // never throws
        expect(cache.pendingCount()).to.equal(1);
        expect(await readCachedOrder(direct, orderId)).to.equal('{"status":"PENDING"}');
      } finally {
        proxy.restore();
      }
      await waitFor(() => cache.pendingCount() === 0, { timeoutMs: 15_000, what: 'the queued invalidation to be delivered' });
      expect(await direct.get(orderCacheKey(orderId))).to.equal('2|');
      await cache.close();
    });
  }

  it('gives up a queued invalidation once the cached copy it guards against must have expired', async () => {
    let now = 1_000_000;
    const cache = createCacheWriter(throughProxy, quietLogger, { now: () => now }, 60, { retryIntervalMs: 20 });
    proxy.cut();
    try {
      await waitFor(() => !throughProxy.isReady, { what: 'the client to notice' });
      await cache.invalidate(randomUUID(), 2);
      now += 59_000;
      // Several retry ticks pass with Redis still away: within the TTL the invalidation is kept.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(cache.pendingCount(), 'kept within the TTL').to.equal(1);
      now += 1_001;
      await waitFor(() => cache.pendingCount() === 0, { timeoutMs: 5_000, what: 'the expired invalidation to be dropped' });
    } finally {
      proxy.restore();
      await cache.close();
    }
  });
});
