import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * How often the event loop delay is sampled. prom-client's default, 10 ms, wakes an idle process
 * about 200 times a second (a timer of its own): that cost each service 13 ms of CPU a second
 * doing nothing, a wake-up per order and process at 200 orders/s. Each sample is the time between
 * two ticks, so an idle process now reads 0.1 s instead of 0.01 s, and a stall longer than 100 ms
 * still reads as its own length: the EventLoopLagHigh alert (200 ms) fires as before.
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
