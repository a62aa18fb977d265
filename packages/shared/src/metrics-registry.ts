import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * How often the event loop delay is sampled. prom-client's default, 10 ms, wakes an idle process
 * about 200 times a second (a timer of its own): that cost each service 13 ms of CPU a second
 * doing nothing, several wake-ups per order at 200 orders/s. At 100 ms a stall of the size the
 * EventLoopLagHigh alert looks for (200 ms) is still seen by every sample it spans.
 */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * A process's own Prometheus registry, with Node's default metrics (memory, CPU, event loop lag)
 * on it: the bench reads the heap figures from every service's /metrics.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  return registry;
}
