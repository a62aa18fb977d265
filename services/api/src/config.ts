import * as v from 'valibot';
import { CommonEnv, envBool, envInt, envPort } from '@order-service/shared';

export const ApiEnv = v.object({
  ...CommonEnv,
  PORT: envPort(8000),
  DB_POOL_MAX: envInt(20, 1, 500),
  API_RATE_LIMIT_ENABLED: envBool(true),
  /** Requests per window per client IP on /api/*. */
  API_RATE_LIMIT_MAX: envInt(5, 1, 1_000_000),
  API_RATE_LIMIT_WINDOW_MS: envInt(60_000, 1_000, 86_400_000),
  /**
   * How many reverse proxies stand in front of the API. The client IP is taken that many hops
   * from the right of X-Forwarded-For, so a client cannot pick its own IP by sending the header.
   * 0 (the default) ignores X-Forwarded-For entirely.
   */
  API_TRUST_PROXY_HOPS: envInt(0, 0, 10),
  API_CACHE_TTL_SECONDS: envInt(60, 1, 86_400),
  /** How long an Idempotency-Key can replay its order's response before it is pruned. */
  API_IDEMPOTENCY_RETENTION_HOURS: envInt(24, 1, 8_760),
  API_IDEMPOTENCY_PRUNE_INTERVAL_MS: envInt(600_000, 1_000, 86_400_000),
  /** Per-command timeout for Redis, so a stalled Redis never holds a request. */
  REDIS_COMMAND_TIMEOUT_MS: envInt(200, 10, 10_000),
  /**
   * A request whose headers and body have not arrived in full by then gets 408 and its connection
   * is closed, so a client that sends slowly or never finishes cannot hold a connection for long.
   */
  API_REQUEST_TIMEOUT_MS: envInt(10_000, 100, 600_000),
  /**
   * When set, /metrics and /readyz are served on this port only (an operator's network), not on
   * the public one. Unset by default: they stay on PORT.
   */
  API_OPS_PORT: v.optional(envPort(0)),
});

export type ApiConfig = v.InferOutput<typeof ApiEnv>;
