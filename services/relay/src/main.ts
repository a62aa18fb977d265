import { createAmqpConnection, createDb, listenForOps, postgresAnswers, systemClock } from '@order-service/shared';
import { boot } from '@order-service/shared/boot';
import { createRelayCollaborators, relaySessionOptions } from './collaborators';
import { RelayEnv, relaySettings } from './config';
import { createRelayMetrics } from './metrics';
import { startRelay } from './relay';

await boot(RelayEnv, { name: 'relay', service: 'order-service-relay' }, async ({ config, logger }) => {
  const settings = relaySettings(config);
  const db = createDb(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'order-service-relay',
    ...relaySessionOptions(settings),
    onIdleError: (error) => logger.warn({ err: error.message }, 'postgres connection lost'),
  });
  const connection = createAmqpConnection(config.RABBITMQ_URL, 'order-service-relay', logger);
  connection.on('connection.blocked', (reason) => logger.warn({ reason }, 'rabbitmq is blocking publishers'));
  connection.on('connection.unblocked', () => logger.info('rabbitmq unblocked publishers'));
  const clock = systemClock;
  const metrics = createRelayMetrics(db, clock);

  const crashPoint = config.RELAY_CRASH_POINT;
  if (crashPoint) logger.warn({ crashPoint }, 'RELAY_CRASH_POINT is set: this relay will kill itself (test only)');

  const relay = startRelay({
    db,
    connection,
    logger,
    metrics,
    settings,
    clock,
    ...createRelayCollaborators({ db, connection, databaseUrl: config.DATABASE_URL, logger, settings, clock }),
    onFatal: () => process.exit(1),
    onCrashPoint: (point) => {
      if (point !== crashPoint) return;
      logger.warn({ crashPoint }, 'crash point reached; SIGKILL');
      process.kill(process.pid, 'SIGKILL');
    },
  });

  const ops = await listenForOps(logger, config.PORT, metrics.registry, {
    postgres: postgresAnswers(db),
    rabbitmq: async () => connection.ready,
  });
  return async () => {
    // Stop intake (finish the batches in flight), then the publisher, connection and pool.
    await relay.stop();
    await connection.close();
    await db.destroy();
    await ops.close();
  };
});
