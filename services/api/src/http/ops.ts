import { Router } from 'express';
import { checkReadiness, postgresAnswers, readinessDocument, shareReadiness, type Db, type Readiness, type ReadinessChecks } from '@order-service/shared';
import { createMetrics } from './metrics';

/** What operators read: the metrics registry (with the request timer) and the readiness check. */
export interface ApiOps {
  metrics: ReturnType<typeof createMetrics>;
  readiness: () => Promise<Readiness>;
}

/**
 * The API needs only Postgres to take and serve orders: without Redis it bypasses the cache and
 * the limiter, and RabbitMQ is the relay's concern (the outbox buffers events). `optionalChecks`
 * are reported but do not fail readiness. The check is shared, so Postgres sees at most one per second.
 */
export function createApiOps(db: Db, optionalChecks: ReadinessChecks = {}): ApiOps {
  const postgres = postgresAnswers(db);
  const readiness = shareReadiness(async () => {
    const [required, optional] = await Promise.all([checkReadiness({ postgres }), checkReadiness(optionalChecks)]);
    return { ready: required.ready, checks: { ...required.checks, ...optional.checks } };
  });
  return { metrics: createMetrics(), readiness };
}

/** GET /readyz and GET /metrics, for the public app when there is no ops port. */
export function opsRoutes({ metrics, readiness }: ApiOps): Router {
  return Router()
    .get('/readyz', async (_req, res) => {
      const result = await readiness();
      res.status(result.ready ? 200 : 503).json(readinessDocument(result));
    })
    .get('/metrics', async (_req, res) => {
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
}
