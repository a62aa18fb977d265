import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import { createOutboxHinter, notifyOutbox, systemClock, type Clock, type Db, type Logger, type RedisClient } from '@order-service/shared';
import type { ApiConfig } from './config';
import { requestTimer } from './http/metrics';
import { openApiDocument } from './http/openapi';
import { createApiOps, opsRoutes, type ApiOps } from './http/ops';
import { errorHandler, notFoundHandler } from './http/problem';
import { problemTypeRoutes } from './http/problem-types';
import { createRateLimiter } from './http/rate-limit';
import { inOrder } from './http/in-order';
import { requestGuard } from './http/request-guard';
import { API_SECURITY_HEADERS, securityHeaders } from './http/security-headers';
import { addOrderRoutes } from './orders/orders-routes';
import { productRoutes } from './products/products-routes';

export interface AppDeps {
  db: Db;
  redis: RedisClient;
  logger: Logger;
  config: Pick<
    ApiConfig,
    'API_RATE_LIMIT_ENABLED' | 'API_RATE_LIMIT_MAX' | 'API_RATE_LIMIT_WINDOW_MS' | 'API_TRUST_PROXY_HOPS' | 'API_CACHE_TTL_SECONDS'
  > &
    Partial<Pick<ApiConfig, 'REDIS_COMMAND_TIMEOUT_MS' | 'API_OPS_PORT'>>;
  /** Metrics and readiness (default: a registry of its own and a Postgres-only readiness check). */
  ops?: ApiOps;
  /** Where the time comes from: a new order's time and the rate limiter's (default: the system clock). */
  clock?: Clock;
}

/**
 * Builds the express app. It does not listen: main.ts does, and tests start it on port 0. With
 * an API_OPS_PORT, /readyz and /metrics are left to the ops listener and are not found here.
 */
export function createApp({ db, redis, logger, config, ops = createApiOps(db), clock = systemClock }: AppDeps): Express {
  const app = express();
  // Trust exactly the configured number of proxy hops; never `true`, which would let any
  // client choose its IP (and its rate-limit bucket) through X-Forwarded-For.
  app.set('trust proxy', config.API_TRUST_PROXY_HOPS);
  app.disable('x-powered-by');
  app.use(inOrder(securityHeaders(API_SECURITY_HEADERS), requestTimer(ops.metrics.httpDuration), requestGuard));

  // Every Redis call a request waits for is bounded by this: Redis only ever makes a request slower by this much.
  const redisTimeoutMs = config.REDIS_COMMAND_TIMEOUT_MS ?? 200;
  // The /api routes are mounted on the app itself, not on a router of their own: one router fewer
  // for every request to walk, the cached GET above all. They come first after the guard: the
  // routes below share no path with /api, so a request for the API is not walked past them.
  if (config.API_RATE_LIMIT_ENABLED) {
    app.use(
      '/api',
      createRateLimiter(redis, logger, clock, { limit: config.API_RATE_LIMIT_MAX, windowMs: config.API_RATE_LIMIT_WINDOW_MS, redisTimeoutMs }),
    );
  }
  const outboxHint = createOutboxHinter(() => notifyOutbox(db), { onError: (error) => logger.debug({ err: (error as Error).message }, 'outbox hint failed') });
  addOrderRoutes(app, { db, redis, logger, cacheTtlSeconds: config.API_CACHE_TTL_SECONDS, redisTimeoutMs }, clock, outboxHint.hint);
  app.use('/api/products', productRoutes(db));
  app.use('/api', notFoundHandler);

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  if (config.API_OPS_PORT === undefined) app.use(opsRoutes(ops));
  const openApi = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  // swagger-ui-express serves its assets from the package, so /docs works offline. The one page
  // gets helmet's defaults, set over the API's: a document's headers, and a policy that lets the
  // page's own scripts, styles and images load (the API's `default-src 'none'` would block them).
  app.use('/docs', securityHeaders(), swaggerUi.serve, swaggerUi.setup(openApi));
  // What every problem's `type` resolves to; documentation, so outside /api and its rate limit.
  app.use('/problems', problemTypeRoutes());

  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
