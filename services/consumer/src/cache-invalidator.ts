import { createThrottle, invalidateOrder, type Clock, type Logger, type RedisClient } from '@order-service/shared';

export interface CacheInvalidator {
  /** Marks cached copies of the order older than `version` stale. Never throws. */
  invalidate(orderId: string, version: number): Promise<void>;
  /** Invalidations waiting for Redis to come back. */
  pendingCount(): number;
  close(): Promise<void>;
}

/**
 * Invalidates the API's cached order after a status change (a tombstone at the new version, which
 * no older write can replace). Redis trouble must neither block the queue nor cause a redelivery,
 * so a failed invalidation is kept and retried in the background until the entry it guards
 * against must have expired anyway (one cache TTL after the failure). That way a Redis blip
 * cannot leave an old status readable for longer than it takes Redis to come back.
 */
export function createCacheInvalidator(
  redis: RedisClient,
  logger: Logger,
  clock: Clock,
  ttlSeconds: number,
  { retryIntervalMs = 500 }: { retryIntervalMs?: number } = {},
): CacheInvalidator {
  const pending = new Map<string, { version: number; until: number }>();
  const warningDue = createThrottle(10_000, clock);

  async function attempt(orderId: string, version: number): Promise<boolean> {
    if (!redis.isReady) return false;
    try {
      await invalidateOrder(redis, orderId, version, ttlSeconds);
      return true;
    } catch (error) {
      logger.debug({ err: error, orderId }, 'cache invalidation failed');
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
