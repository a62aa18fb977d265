import * as v from 'valibot';
import { CommonEnv, createLogger, exitOnStartupError, loadConfig } from '@order-service/shared';
import { migrateDatabase } from '@order-service/shared/migrate';

let config;
try {
  config = loadConfig(v.object({ DATABASE_URL: CommonEnv.DATABASE_URL, LOG_LEVEL: CommonEnv.LOG_LEVEL }), process.env);
} catch (error) {
  exitOnStartupError(undefined, error);
}
const logger = createLogger('migrate', config.LOG_LEVEL);

try {
  const applied = await migrateDatabase(config.DATABASE_URL, (message) => logger.debug(message));
  logger.info({ applied: applied.map((m) => m.name) }, applied.length ? 'migrations applied' : 'schema up to date');
} catch (error) {
  exitOnStartupError(logger, error);
}
