import { createAmqpConnection, createLogger, exitOnStartupError, loadConfig, onShutdown, startOpsServer } from '@order-service/shared';
import { startTelemetry } from '@order-service/shared/telemetry';
import { SimulatorEnv } from './config';
import { createSimulatorMetrics, startSimulator } from './simulator';

let config;
try {
  config = loadConfig(SimulatorEnv, process.env);
} catch (error) {
  exitOnStartupError(undefined, error);
}
const logger = createLogger('payment-simulator', config.LOG_LEVEL);
const telemetry = await startTelemetry('payment-simulator');

try {
  const metrics = createSimulatorMetrics();
  const connection = createAmqpConnection(config.RABBITMQ_URL, 'payment-simulator', logger);
  const ops = await startOpsServer({
    port: config.PORT,
    registry: metrics.registry,
    checks: { rabbitmq: async () => connection.ready },
  });
  logger.info({ port: ops.port }, 'listening');
  const simulator = startSimulator({ connection, logger, metrics, config });
  logger.info(
    { successRatio: config.SIMULATOR_SUCCESS_RATIO, delayMs: config.SIMULATOR_DELAY_MS },
    'simulating payments for new orders',
  );

  onShutdown(logger, async () => {
    await simulator.stop();
    await connection.close();
    const opsClosed = ops.close();
    ops.server.closeAllConnections();
    await opsClosed;
    await telemetry.shutdown();
  });
} catch (error) {
  exitOnStartupError(logger, error);
}
