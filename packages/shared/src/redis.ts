// The bare client: the `redis` package also loads the search, JSON, time-series and bloom modules (~20 MB).
import { BasicClientSideCache, createClient, type RedisClientType } from '@redis/client';
import { backoff } from './backoff';
import type { Logger } from './logger';
import { createThrottle } from './throttle';

export interface RedisOptions {
  /**
   * Per-command timeout. node-redis applies it only while a command waits to be sent: one
   * already sent to a Redis that stopped answering waits until the socket closes. Callers that
   * must not wait (a request) race the command against `withDeadline` as well.
   */
  commandTimeoutMs?: number;
  /**
   * Keeps replies of cacheable reads (GET) in the process, with server-assisted client-side
   * caching (RESP3 `CLIENT TRACKING`): Redis tells the client when a key it read changes or
   * expires, and the client drops its copy, so a repeated read is answered from memory. The
   * whole cache is dropped whenever the connection errors or closes (an invalidation may have
   * been lost), and a copy is used for at most `maxAgeMs`: while the link to Redis is stalled
   * (open, but nothing arrives), invalidations cannot arrive either, and the next read must go
   * to Redis, time out, and fall back to the source of truth. Off by default.
   */
  cachedReads?: { maxEntries: number; maxAgeMs: number };
}

/**
 * node-redis's own in-process cache of read replies (what `cachedReads` turns on), with a
 * synchronous look-up of one GET. A request answered from here skips the command machinery and
 * the deadline that a round trip needs; what it finds is exactly what `client.get` would answer
 * from memory, under the same rules: invalidated by Redis, aged out, dropped on error or close.
 */
export class ReadCache extends BasicClientSideCache {
  /** The kept reply to `GET key`, or undefined when there is none (or it is still being read). */
  peekGet(key: string): unknown {
    // node-redis's key for a command's replies (generateCacheKey): the argument lengths, then the arguments.
    const entry = this.get(`3_${key.length}_GET_${key}`);
    // A reply still on its way is kept as a promise entry: only a value entry is an answer.
    if (entry === undefined || !('value' in entry)) return undefined;
    this.recordHits(1);
    return entry.value;
  }
}

/**
 * The reply to `GET key` that `client` keeps in process, if it keeps one: undefined means
 * "ask Redis" (no cache, no fresh copy).
 */
export function keptGet(client: Pick<RedisClientType, 'clientSideCache'>, key: string): unknown {
  const cache = client.clientSideCache;
  return cache instanceof ReadCache ? cache.peekGet(key) : undefined;
}

/**
 * A node-redis client that fails fast: no offline queue (commands reject at once while
 * disconnected), a command timeout, and endless background reconnects.
 * Connecting does not block start-up; callers treat Redis as optional.
 */
export function createRedis(url: string, logger: Logger, options: RedisOptions = {}) {
  const client = createClient({
    url,
    RESP: 3,
    // FIFO, not LRU: a copy lives at most maxAgeMs anyway, and LRU moves the entry on every hit.
    ...(options.cachedReads
      ? { clientSideCache: new ReadCache({ maxEntries: options.cachedReads.maxEntries, ttl: options.cachedReads.maxAgeMs, evictPolicy: 'FIFO' }) }
      : {}),
    disableOfflineQueue: true,
    commandOptions: { timeout: options.commandTimeoutMs ?? 250 },
    socket: {
      connectTimeout: 1_000,
      // node-redis counts retries from 0.
      reconnectStrategy: (retries) => backoff(retries + 1, { baseMs: 100, maxMs: 2_000 }),
    },
  });
  // The client reconnects by itself; log at most one warning per 10 s while it is down.
  const warningDue = createThrottle(10_000);
  client.on('error', (error: Error) => {
    if (warningDue()) logger.warn({ err: error.message }, 'redis unavailable; cache bypassed, limiter fails open');
  });
  client.connect().catch(() => {
    // Reported through the 'error' event; reconnects continue in the background.
  });
  return client;
}

export type RedisClient = ReturnType<typeof createRedis>;
