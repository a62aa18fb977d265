import { createAmqpConnection, createDb, createRedis, listenForOps, postgresAnswers, systemClock } from '@order-service/shared';
import { boot } from '@order-service/shared/boot';
import { createCacheWriter } from './cache-writer';
import { CONSUMER_SESSION, ConsumerEnv } from './config';
import { startPaymentConsumer } from './consumer';
import { createConsumerMetrics } from './metrics';
import { startInboxRetention } from './retention';

await boot(ConsumerEnv, { name: 'consumer', service: 'order-service-consumer' }, async ({ config, logger }) => {
  const metrics = createConsumerMetrics();
  const db = createDb(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'order-service-consumer',
    ...CONSUMER_SESSION,
    onIdleError: (error) => logger.warn({ err: error.message }, 'postgres connection lost'),
  });
  const redis = createRedis(config.REDIS_URL, logger, { commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS });
  const connection = createAmqpConnection(config.RABBITMQ_URL, 'order-service-consumer', logger);
  const cache = createCacheWriter(redis, logger, systemClock, config.CONSUMER_CACHE_TTL_SECONDS);

  if (config.CONSUMER_CRASH_POINT) logger.warn({ crashPoint: config.CONSUMER_CRASH_POINT }, 'TEST-ONLY crash point armed');
  const payments = startPaymentConsumer({
    connection,
    db,
    cache,
    logger,
    metrics,
    clock: systemClock,
    config,
    // TEST ONLY (CONSUMER_CRASH_POINT=after-commit): die like a killed process would, after the
    // commit and before the ack, so the broker redelivers an event that is already applied.
    afterCommit: config.CONSUMER_CRASH_POINT === 'after-commit' ? () => process.kill(process.pid, 'SIGKILL') : undefined,
  });
  let consuming = false;
  payments.consumer.on('ready', () => {
    consuming = true;
    logger.info({ prefetch: config.CONSUMER_PREFETCH, concurrency: config.CONSUMER_CONCURRENCY }, 'consuming payments');
  });
  const retention = startInboxRetention(db, logger, {
    retentionHours: config.CONSUMER_INBOX_RETENTION_HOURS,
    intervalMs: config.CONSUMER_RETENTION_INTERVAL_MS,
  });

  const ops = await listenForOps(logger, config.PORT, metrics.registry, {
    postgres: postgresAnswers(db),
    rabbitmq: async () => connection.ready,
    consumer: async () => consuming && connection.ready,
  });

  return async () => {
    // Stop intake and finish the messages in hand, then close the clients in dependency order.
    await payments.stop();
    await retention.stop();
    await cache.close();
    await connection.close();
    await Promise.allSettled([db.destroy(), redis.close(), ops.close()]);
  };
});
