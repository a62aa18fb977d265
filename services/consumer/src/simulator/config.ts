import * as v from 'valibot';
import { CommonEnv, envInt, envNumber, envPort } from '@order-service/shared';

/** The payment simulator needs only the broker: it turns OrderCreated into PaymentProcessed. */
export const SimulatorEnv = v.object({
  RABBITMQ_URL: CommonEnv.RABBITMQ_URL,
  LOG_LEVEL: CommonEnv.LOG_LEVEL,
  PORT: envPort(9103),
  /** Share of payments that succeed, 0..1. */
  SIMULATOR_SUCCESS_RATIO: envNumber(0.9, 0, 1),
  /** How long the "payment provider" takes to answer, per order. */
  SIMULATOR_DELAY_MS: envInt(500, 0, 600_000),
  SIMULATOR_PREFETCH: envInt(200, 1, 10_000),
  /** Orders in flight at once; with a delay, throughput is about concurrency / delay. */
  SIMULATOR_CONCURRENCY: envInt(100, 1, 10_000),
});

export type SimulatorConfig = v.InferOutput<typeof SimulatorEnv>;
