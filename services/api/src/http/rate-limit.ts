import type { Request } from 'express';
import { rateLimit, type RateLimitInfo, type RateLimitRequestHandler } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { TooManyRequests, createThrottle, withDeadline, type Clock, type Logger, type RedisClient } from '@order-service/shared';
import { sendProblem } from './problem';

/**
 * rate-limit-redis loads its Lua scripts once, at start. If Redis is down then, the stored
 * promise stays rejected and every later call fails even after Redis is back, so the limiter
 * would stay open for good. Resolving a failed load to a placeholder sha instead makes the next
 * EVALSHA answer NOSCRIPT, and the store reloads the script by itself (as after SCRIPT FLUSH).
 */
class SelfHealingRedisStore extends RedisStore {
  override loadIncrementScript(key?: string) {
    return super.loadIncrementScript(key).catch(() => 'not-loaded');
  }

  override loadGetScript(key?: string) {
    return super.loadGetScript(key).catch(() => 'not-loaded');
  }
}

export interface RateLimitOptions {
  limit: number;
  windowMs: number;
  /** A Redis that does not answer within this is treated as down (the request passes). */
  redisTimeoutMs: number;
}

/**
 * Per-client-IP limit on /api/*, counted in Redis so every replica shares one count. When
 * Redis is unreachable it fails open (with a warning): orders keep flowing without a limiter.
 */
export function createRateLimiter(redis: RedisClient, logger: Logger, clock: Clock, options: RateLimitOptions): RateLimitRequestHandler {
  // While Redis is down the store fails on every request: each kind of message is logged at
  // most once per 10 s, so the log says so without growing at the request rate.
  const due = createThrottle(10_000, clock);
  const warn = (error: unknown, message = 'rate limiter problem') => {
    if (!due(message)) return;
    logger.warn({ err: error instanceof Error ? error.message : error }, message);
  };
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    logger: { warn, error: warn },
    store: new SelfHealingRedisStore({
      prefix: 'rl:',
      sendCommand: (...args: string[]) => withDeadline(redis.sendCommand(args), options.redisTimeoutMs, 'redis'),
    }),
    handler: (req, res, _next, opts) => {
      const { resetTime } = (req as Request & { rateLimit: RateLimitInfo }).rateLimit;
      const resetMs = resetTime ? resetTime.getTime() - clock.now() : opts.windowMs;
      const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
      res.set('Retry-After', String(retryAfter));
      sendProblem(res, new TooManyRequests(retryAfter), req.originalUrl);
    },
  });
}
