import { createAmqpConnection, listenForOps } from '@order-service/shared';
import { boot } from '@order-service/shared/boot';
import { SimulatorEnv } from './config';
import { createSimulatorMetrics, startSimulator } from './simulator';

await boot(SimulatorEnv, { name: 'payment-simulator', service: 'payment-simulator' }, async ({ config, logger }) => {
  const metrics = createSimulatorMetrics();
  const connection = createAmqpConnection(config.RABBITMQ_URL, 'payment-simulator', logger);
  const ops = await listenForOps(logger, config.PORT, metrics.registry, { rabbitmq: async () => connection.ready });
  const simulator = startSimulator({ connection, logger, metrics, config });
  logger.info({ successRatio: config.SIMULATOR_SUCCESS_RATIO, delayMs: config.SIMULATOR_DELAY_MS }, 'simulating payments for new orders');

  return async () => {
    await simulator.stop();
    await connection.close();
    await ops.close();
  };
});
