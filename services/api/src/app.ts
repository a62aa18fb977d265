import express, { type Express } from 'express';
import helmet from 'helmet';
import swaggerUi from 'swagger-ui-express';
import { checkReadiness, type Db, type Logger, type ReadinessChecks, type RedisClient } from '@order-service/shared';
import type { ApiConfig } from './config';
import { createMetrics, requestTimer } from './http/metrics';
import { openApiDocument } from './http/openapi';
import { errorHandler, notFoundHandler } from './http/problem';
import { createRateLimiter } from './http/rate-limit';
import { orderRoutes } from './orders/orders.routes';
import { productRoutes } from './products/products.routes';

export interface AppDeps {
  db: Db;
  redis: RedisClient;
  logger: Logger;
  config: Pick<
    ApiConfig,
    'API_RATE_LIMIT_ENABLED' | 'API_RATE_LIMIT_MAX' | 'API_RATE_LIMIT_WINDOW_MS' | 'API_TRUST_PROXY_HOPS' | 'API_CACHE_TTL_SECONDS'
  > &
    Partial<Pick<ApiConfig, 'REDIS_COMMAND_TIMEOUT_MS'>>;
  /** Readiness checks beyond Postgres (Redis, RabbitMQ): reported, but they do not fail readiness. */
  optionalChecks?: ReadinessChecks;
}

/** Builds the express app. It does not listen: main.ts does, and tests start it on port 0. */
export function createApp({ db, redis, logger, config, optionalChecks = {} }: AppDeps): Express {
  const app = express();
  const metrics = createMetrics();
  // Trust exactly the configured number of proxy hops; never `true`, which would let any
  // client choose its IP (and its rate-limit bucket) through X-Forwarded-For.
  app.set('trust proxy', config.API_TRUST_PROXY_HOPS);
  app.disable('x-powered-by');
  app.use(helmet());
  app.use(requestTimer(metrics.httpDuration));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    // The API needs only Postgres to take and serve orders: without Redis it bypasses the
    // cache and the limiter, and RabbitMQ is the relay's concern (the outbox buffers events).
    const required = await checkReadiness({ postgres: () => db.selectNoFrom((eb) => eb.val(1).as('ok')).execute().then(() => true) });
    const optional = await checkReadiness(optionalChecks);
    res.status(required.ready ? 200 : 503).json({
      status: required.ready ? 'ready' : 'not ready',
      checks: { ...required.checks, ...optional.checks },
    });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const openApi = openApiDocument();
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  // swagger-ui-express serves its assets from the package, so /docs works offline. Its inline
  // script needs a relaxed CSP on this one page.
  app.use('/docs', helmet({ contentSecurityPolicy: false }), swaggerUi.serve, swaggerUi.setup(openApi));

  // Every Redis call a request waits for is bounded by this: Redis only ever makes a request slower by this much.
  const redisTimeoutMs = config.REDIS_COMMAND_TIMEOUT_MS ?? 200;
  const api = express.Router();
  if (config.API_RATE_LIMIT_ENABLED) {
    api.use(
      createRateLimiter(redis, logger, { limit: config.API_RATE_LIMIT_MAX, windowMs: config.API_RATE_LIMIT_WINDOW_MS, redisTimeoutMs }),
    );
  }
  api.use('/products', productRoutes(db));
  api.use('/orders', orderRoutes({ db, redis, logger, cacheTtlSeconds: config.API_CACHE_TTL_SECONDS, redisTimeoutMs }));
  api.use(notFoundHandler);
  app.use('/api', api);
  app.use(notFoundHandler);
  app.use(errorHandler(logger));
  return app;
}
