import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { BASE_REDIS_URL, waitFor } from '@order-service/testkit';
import { createLogger, createRedis, keptGet, type RedisClient } from '../src/index';

describe('shared: keptGet, the synchronous look-up of a GET the Redis client keeps in process', () => {
  const quiet = createLogger('kept-reads-test', 'silent');
  let cached: RedisClient;
  let other: RedisClient;
  const key = `kept-test:${randomUUID()}`;

  before(async () => {
    cached = createRedis(BASE_REDIS_URL, quiet, { cachedReads: { maxEntries: 100, maxAgeMs: 1_000 } });
    other = createRedis(BASE_REDIS_URL, quiet);
    await waitFor(() => cached.isReady && other.isReady, { what: 'redis' });
  });

  after(async () => {
    await other?.del(key);
    cached?.destroy();
    other?.destroy();
  });

  it('answers what client.get kept, and nothing once another client changed the key', async () => {
    await other.set(key, 'one');
    expect(keptGet(cached, key)).to.equal(undefined);
    expect(await cached.get(key)).to.equal('one');
    expect(keptGet(cached, key)).to.equal('one');
    await other.set(key, 'two');
    await waitFor(() => keptGet(cached, key) === undefined, { what: 'the invalidation to arrive' });
    expect(await cached.get(key)).to.equal('two');
    expect(keptGet(cached, key)).to.equal('two');
  });

  it('keeps a missing key as null, and counts a look-up that answers as a hit', async () => {
    const missing = `${key}:missing`;
    expect(await cached.get(missing)).to.equal(null);
    const hits = cached.clientSideCache!.stats().hitCount;
    expect(keptGet(cached, missing)).to.equal(null);
    expect(cached.clientSideCache!.stats().hitCount).to.equal(hits + 1);
  });

  it('answers nothing for a copy older than maxAgeMs', async () => {
    await other.set(key, 'aging');
    await waitFor(async () => (await cached.get(key)) === 'aging', { what: 'the new value' });
    expect(keptGet(cached, key)).to.equal('aging');
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect(keptGet(cached, key)).to.equal(undefined);
  });

  it('answers nothing once the connection is gone (an invalidation may have been lost)', async () => {
    const leaving = createRedis(BASE_REDIS_URL, quiet, { cachedReads: { maxEntries: 100, maxAgeMs: 1_000 } });
    await waitFor(() => leaving.isReady, { what: 'redis' });
    await other.set(key, 'leaving');
    expect(await leaving.get(key)).to.equal('leaving');
    expect(keptGet(leaving, key)).to.equal('leaving');
    leaving.destroy();
    expect(keptGet(leaving, key)).to.equal(undefined);
  });

  it('answers nothing from a client without cachedReads', async () => {
    await other.get(key);
    expect(keptGet(other, key)).to.equal(undefined);
  });
});
