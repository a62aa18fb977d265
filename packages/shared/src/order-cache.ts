import { keptGet, type RedisClient } from './redis';

/**
 * The read cache for GET /api/orders/{id}. Each entry is `<version>|<json>`, where version is
 * orders.version. Writes go through a script that refuses to replace a newer version, so a
 * slow reader can never put an old status back after the consumer recorded a new one.
 * An entry with an empty body is a tombstone: "version N exists, read it from Postgres".
 * The script reads the version of the entry it finds the way decodeCacheEntry does.
 */
const SET_IF_NOT_OLDER = `
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1`;

export const orderCacheKey = (orderId: string) => `order:${orderId}`;

/** One cache entry as stored: an order's JSON body (empty for a tombstone) at its version. */
export function encodeCacheEntry(version: number, body: string): string {
  return `${version}|${body}`;
}

/** The version and body of a stored cache entry; the body is null for a tombstone. */
export function decodeCacheEntry(entry: string): { version: number; body: string | null } {
  const bar = entry.indexOf('|');
  const body = entry.slice(bar + 1);
  return { version: Number(entry.slice(0, bar)), body: body === '' ? null : body };
}

/** Returns the cached JSON body of an order, or null on a miss or a tombstone. */
export async function readCachedOrder(redis: RedisClient, orderId: string): Promise<string | null> {
  const entry = await redis.get(orderCacheKey(orderId));
  return entry === null ? null : decodeCacheEntry(entry).body;
}

/**
 * The cache entry of an order as the client keeps it in process (createRedis's `cachedReads`),
 * without a round trip: the entry as stored (decodeCacheEntry reads it; the same string while
 * the copy is kept), null when Redis holds none, or undefined when no fresh copy is kept and
 * Redis must be asked.
 */
export function keptCacheEntry(redis: RedisClient, orderId: string): string | null | undefined {
  const entry = keptGet(redis, orderCacheKey(orderId));
  return typeof entry === 'string' || entry === null ? entry : undefined;
}

async function setIfNotOlder(redis: RedisClient, orderId: string, version: number, body: string, ttlSeconds: number) {
  await redis.eval(SET_IF_NOT_OLDER, {
    keys: [orderCacheKey(orderId)],
    arguments: [String(version), encodeCacheEntry(version, body), String(ttlSeconds)],
  });
}

/** Caches an order's JSON body at its version, unless a newer version is already there. */
export function cacheOrder(redis: RedisClient, orderId: string, version: number, body: string, ttlSeconds: number) {
  return setIfNotOlder(redis, orderId, version, body, ttlSeconds);
}

/** Marks every cached copy older than `version` as stale, so the next read goes to Postgres. */
export function invalidateOrder(redis: RedisClient, orderId: string, version: number, ttlSeconds: number) {
  return setIfNotOlder(redis, orderId, version, '', ttlSeconds);
}
