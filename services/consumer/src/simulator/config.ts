import * as v from 'valibot';
import { CommonEnv, envHttpPort, envInt, envNumber } from '@order-service/shared';

/** The payment simulator needs only the broker: it turns OrderCreated into PaymentProcessed. */
export const SimulatorEnv = v.object({
  RABBITMQ_URL: CommonEnv.RABBITMQ_URL,
  LOG_LEVEL: CommonEnv.LOG_LEVEL,
  PORT: envHttpPort(9103),
  SIMULATOR_SUCCESS_RATIO: v.pipe(envNumber(0.9, 0, 1), v.description('share of payments that succeed, 0..1')),
  SIMULATOR_DELAY_MS: v.pipe(envInt(500, 0, 600_000), v.description('how long the "payment provider" takes to answer, per order')),
  SIMULATOR_PREFETCH: v.pipe(envInt(200, 1, 10_000), v.description('OrderCreated messages the broker may send ahead')),
  SIMULATOR_CONCURRENCY: v.pipe(
    envInt(100, 1, 10_000),
    v.description('orders in flight at once; with a delay, throughput is about concurrency / delay'),
  ),
});

export type SimulatorConfig = v.InferOutput<typeof SimulatorEnv>;
