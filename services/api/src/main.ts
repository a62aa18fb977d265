import type { AddressInfo } from 'node:net';
import { Connection } from 'rabbitmq-client';
import { amqpConnectionOptions, createDb, createRedis, startOpsServer, systemClock } from '@order-service/shared';
import { boot } from '@order-service/shared/boot';
import { createApp } from './app';
import { createApiOps } from './http/ops';
import { listen } from './http/server';
import { ORDER_READS_KEPT } from './orders/get-order';
import { startIdempotencyRetention } from './orders/idempotency-retention';
import { API_SESSION, ApiEnv } from './config';

await boot(ApiEnv, { name: 'api', service: 'order-service-api' }, async ({ config, logger }) => {
  const db = createDb(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'order-service-api',
    ...API_SESSION,
    // A request should not wait long on a database that does not answer: 503 after ~6 s at most.
    statementTimeoutMs: 5_000,
    onIdleError: (error) => logger.warn({ err: error.message }, 'postgres connection lost'),
  });
  const redis = createRedis(config.REDIS_URL, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS, cachedReads: ORDER_READS_KEPT });
  // Only for /readyz: the API itself never publishes (the relay does, from the outbox).
  const rabbit = new Connection({ ...amqpConnectionOptions(config.RABBITMQ_URL), connectionName: 'order-service-api', retryHigh: 5_000 });
  rabbit.on('error', (error) => logger.debug({ err: error.message }, 'rabbitmq connection error'));

  const ops = createApiOps(db, {
    redis: async () => (await redis.ping()) === 'PONG',
    rabbitmq: async () => rabbit.ready,
  });
  const app = createApp({ db, redis, logger, config, ops, clock: systemClock });
  const idempotencyRetention = startIdempotencyRetention(db, logger, {
    retentionHours: config.API_IDEMPOTENCY_RETENTION_HOURS,
    intervalMs: config.API_IDEMPOTENCY_PRUNE_INTERVAL_MS,
  });
  // The ops listener starts first, so `listening` means both ports are up.
  const opsServer =
    config.API_OPS_PORT === undefined
      ? undefined
      : await startOpsServer({ port: config.API_OPS_PORT, registry: ops.metrics.registry, readiness: ops.readiness });
  const server = await listen(app, { port: config.PORT, requestTimeoutMs: config.API_REQUEST_TIMEOUT_MS });
  logger.info({ port: (server.address() as AddressInfo).port, opsPort: opsServer?.port }, 'listening');

  return async () => {
    // Stop intake and let in-flight requests finish, then close the clients.
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    });
    await opsServer?.close();
    await idempotencyRetention.stop();
    await Promise.allSettled([db.destroy(), redis.close(), rabbit.close()]);
  };
});
