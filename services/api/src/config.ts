import * as v from 'valibot';
import { CommonEnv, envBool, envHttpPort, envPoolMax, envPort, intSetting, type SessionSettings } from '@order-service/shared';

export const ApiEnv = v.object({
  ...CommonEnv,
  PORT: envHttpPort(8000),
  DB_POOL_MAX: envPoolMax(20),
  API_RATE_LIMIT_ENABLED: v.pipe(envBool(true), v.description('per-IP rate limit on `/api/*`, shared by all replicas through Redis')),
  API_RATE_LIMIT_MAX: intSetting({ default: 5, min: 1, max: 1_000_000, description: 'requests per window per client IP on `/api/*`' }),
  API_RATE_LIMIT_WINDOW_MS: intSetting({ default: 60_000, min: 1_000, max: 86_400_000, description: 'the rate-limit window' }),
  /** Counted from the right of X-Forwarded-For, so a client cannot pick its own IP by sending the header. */
  API_TRUST_PROXY_HOPS: intSetting({ default: 0, min: 0, max: 10, description: 'reverse proxies in front of the API; the client IP is taken that many hops from the right of `X-Forwarded-For` (`0` ignores the header)' }),
  API_CACHE_TTL_SECONDS: intSetting({ default: 60, min: 1, max: 86_400, description: 'TTL of cached orders in Redis' }),
  API_IDEMPOTENCY_RETENTION_HOURS: intSetting({ default: 24, min: 1, max: 8_760, description: 'how long an `Idempotency-Key` can replay its original response before it is pruned' }),
  API_IDEMPOTENCY_PRUNE_INTERVAL_MS: intSetting({ default: 600_000, min: 1_000, max: 86_400_000, description: 'how often expired idempotency keys are pruned' }),
  REDIS_COMMAND_TIMEOUT_MS: intSetting({ default: 200, min: 10, max: 10_000, description: 'per-command Redis timeout, so a stalled Redis never holds a request longer' }),
  /** A client that sends slowly or never finishes cannot hold a connection for long. */
  API_REQUEST_TIMEOUT_MS: intSetting({ default: 10_000, min: 100, max: 600_000, description: 'a request whose headers and body have not fully arrived by then gets `408` and its connection is closed' }),
  API_OPS_PORT: v.pipe(
    v.optional(envPort(0)),
    v.description('when set, `/metrics` and `/readyz` are served only on this port (an operator network), 404 on the public one; `/healthz` stays public'),
  ),
});

export type ApiConfig = v.InferOutput<typeof ApiEnv>;

/**
 * How the api's Postgres sessions run. Its order statement is planned once for all calls: Postgres,
 * left to choose, planned it on every call (0.86 ms an order, one client; 0.56–0.60 planned once).
 */
export const API_SESSION: SessionSettings = { planOnce: true };
