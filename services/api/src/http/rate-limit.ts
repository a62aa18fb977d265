import type { Request } from 'express';
import { rateLimit, type RateLimitInfo, type RateLimitRequestHandler } from 'express-rate-limit';
import { RedisStore } from 'rate-limit-redis';
import { TooManyRequests, type Logger, type RedisClient } from '@order-service/shared';
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
}

/**
 * Per-client-IP limit on /api/*, counted in Redis so every replica shares one count. When
 * Redis is unreachable it fails open (with a warning): orders keep flowing without a limiter.
 */
export function createRateLimiter(redis: RedisClient, logger: Logger, options: RateLimitOptions): RateLimitRequestHandler {
  return rateLimit({
    windowMs: options.windowMs,
    limit: options.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    passOnStoreError: true,
    logger: {
      warn: (...args: unknown[]) => logger.warn(args.map(String).join(' ')),
      error: (error: unknown) => logger.warn({ err: error instanceof Error ? error.message : error }, 'rate limiter store unavailable; allowing request'),
    },
    store: new SelfHealingRedisStore({
      prefix: 'rl:',
      sendCommand: (...args: string[]) => redis.sendCommand(args),
    }),
    handler: (req, res, _next, opts) => {
      const { resetTime } = (req as Request & { rateLimit: RateLimitInfo }).rateLimit;
      const resetMs = resetTime ? resetTime.getTime() - Date.now() : opts.windowMs;
      const retryAfter = Math.max(1, Math.ceil(resetMs / 1000));
      res.set('Retry-After', String(retryAfter));
      sendProblem(res, new TooManyRequests(retryAfter), req.originalUrl);
    },
  });
}
