import { createAmqpConnection, createDb, listenForOps, postgresAnswers, systemClock } from '@order-service/shared';
import { boot } from '@order-service/shared/boot';
import { createRelayCollaborators } from './collaborators';
import { RelayEnv, relaySettings } from './config';
import { createRelayMetrics } from './metrics';
import { startRelay } from './relay';

await boot(RelayEnv, { name: 'relay', service: 'order-service-relay' }, async ({ config, logger }) => {
  const db = createDb(config.DATABASE_URL, {
    max: config.DB_POOL_MAX,
    applicationName: 'order-service-relay',
    // A claim is a transaction held while its batch is on the wire: a relay that hangs longer
    // than its lease loses it, and its rows go to another relay.
    idleInTransactionTimeoutMs: config.RELAY_LEASE_MS,
    // The relay writes only marks (published, retry, parked) and deletes what retention allows.
    // A mark lost in a Postgres crash makes its event go out again, which at-least-once allows
    // (consumers dedupe by event id), so its commits need not wait for the disk.
    asynchronousCommit: true,
    onIdleError: (error) => logger.warn({ err: error.message }, 'postgres connection lost'),
  });
  const connection = createAmqpConnection(config.RABBITMQ_URL, 'order-service-relay', logger);
  connection.on('connection.blocked', (reason) => logger.warn({ reason }, 'rabbitmq is blocking publishers'));
  connection.on('connection.unblocked', () => logger.info('rabbitmq unblocked publishers'));
  const clock = systemClock;
  const settings = relaySettings(config);
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
