import { cacheOrder, createThrottle, invalidateOrder, type Clock, type Logger, type RedisClient } from '@order-service/shared';

export interface CacheWriter {
  /** Caches the order's JSON body at `version`, over any older copy. Never throws. */
  store(orderId: string, version: number, body: string): Promise<void>;
  /** Marks cached copies of the order older than `version` stale. Never throws. */
  invalidate(orderId: string, version: number): Promise<void>;
  /** Invalidations waiting for Redis to come back (a body that could not be stored waits as one). */
  pendingCount(): number;
  close(): Promise<void>;
}

/**
 * Updates the API's cached order after a status change: the order as it is now, at its new
 * version, so the GET that follows a payment is answered from Redis; or a tombstone at that
 * version ("read it from Postgres") when the consumer does not have the order's new body. No
 * older write can replace either. Redis trouble must neither block the queue nor cause a
 * redelivery, so a failed write is kept as an invalidation and retried in the background until
 * the entry it guards against must have expired anyway (one cache TTL after the failure). That
 * way a Redis blip cannot leave an old status readable for longer than it takes Redis to come back.
 */
export function createCacheWriter(
  redis: RedisClient,
  logger: Logger,
  clock: Clock,
  ttlSeconds: number,
  { retryIntervalMs = 500 }: { retryIntervalMs?: number } = {},
): CacheWriter {
  const pending = new Map<string, { version: number; until: number }>();
  const warningDue = createThrottle(10_000, clock);

  /** Writes `body` (a tombstone when null) at `version`; false if Redis did not take it. */
  async function attempt(orderId: string, version: number, body: string | null = null): Promise<boolean> {
    if (!redis.isReady) return false;
    try {
      await (body === null ? invalidateOrder(redis, orderId, version, ttlSeconds) : cacheOrder(redis, orderId, version, body, ttlSeconds));
      return true;
    } catch (error) {
      logger.debug({ err: error, orderId }, 'cache write failed');
      return false;
    }
  }

  function keep(orderId: string, version: number) {
    const previous = pending.get(orderId);
    const now = clock.now();
    pending.set(orderId, { version: Math.max(version, previous?.version ?? 0), until: now + ttlSeconds * 1_000 });
    if (warningDue()) logger.warn({ pending: pending.size }, 'redis unavailable; cache invalidations queued for retry');
  }

  let flushing: Promise<void> | undefined;
  async function flush() {
    for (const [orderId, entry] of pending) {
      if (clock.now() > entry.until) {
        pending.delete(orderId);
        continue;
      }
      if (!(await attempt(orderId, entry.version))) return; // still down: try again on the next tick
      if (pending.get(orderId) === entry) pending.delete(orderId);
    }
  }
  const timer = setInterval(() => {
    if (flushing || pending.size === 0) return;
    flushing = flush().finally(() => {
      flushing = undefined;
    });
  }, retryIntervalMs);
  timer.unref();

  return {
    async store(orderId, version, body) {
      if (!(await attempt(orderId, version, body))) keep(orderId, version);
    },
    async invalidate(orderId, version) {
      if (!(await attempt(orderId, version))) keep(orderId, version);
    },
    pendingCount: () => pending.size,
    async close() {
      clearInterval(timer);
      await flushing;
      await flush();
      if (pending.size > 0) logger.warn({ pending: pending.size }, 'cache invalidations not delivered before shutdown');
    },
  };
}
