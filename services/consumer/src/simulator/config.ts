import * as v from 'valibot';
import { CommonEnv, envHttpPort, intSetting, numberSetting } from '@order-service/shared';

/** The payment simulator needs only the broker: it turns OrderCreated into PaymentProcessed. */
export const SimulatorEnv = v.object({
  RABBITMQ_URL: CommonEnv.RABBITMQ_URL,
  LOG_LEVEL: CommonEnv.LOG_LEVEL,
  PORT: envHttpPort(9103),
  SIMULATOR_SUCCESS_RATIO: numberSetting({ default: 0.9, min: 0, max: 1, description: 'share of payments that succeed, 0..1' }),
  SIMULATOR_DELAY_MS: intSetting({ default: 500, min: 0, max: 600_000, description: 'how long the "payment provider" takes to answer, per order' }),
  SIMULATOR_PREFETCH: intSetting({ default: 200, min: 1, max: 10_000, description: 'OrderCreated messages the broker may send ahead' }),
  SIMULATOR_CONCURRENCY: intSetting({ default: 100, min: 1, max: 10_000, description: 'orders in flight at once; with a delay, throughput is about concurrency / delay' }),
});

export type SimulatorConfig = v.InferOutput<typeof SimulatorEnv>;
