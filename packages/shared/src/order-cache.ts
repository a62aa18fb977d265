import type { RedisClient } from './redis';

/**
 * The read cache for GET /api/orders/{id}. Each entry is `<version>|<json>`, where version is
 * orders.version. Writes go through a script that refuses to replace a newer version, so a
 * slow reader can never put an old status back after the consumer recorded a new one.
 * An entry with an empty body is a tombstone: "version N exists, read it from Postgres".
 */
const SET_IF_NOT_OLDER = `
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+)|'))
  if version and version > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. ARGV[2], 'EX', ARGV[3])
return 1`;

export const orderCacheKey = (orderId: string) => `order:${orderId}`;

/** Returns the cached JSON body of an order, or null on a miss or a tombstone. */
export async function readCachedOrder(redis: RedisClient, orderId: string): Promise<string | null> {
  const entry = await redis.get(orderCacheKey(orderId));
  if (entry === null) return null;
  const body = entry.slice(entry.indexOf('|') + 1);
  return body === '' ? null : body;
}

async function setIfNotOlder(redis: RedisClient, orderId: string, version: number, body: string, ttlSeconds: number) {
  await redis.eval(SET_IF_NOT_OLDER, {
    keys: [orderCacheKey(orderId)],
    arguments: [String(version), body, String(ttlSeconds)],
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
