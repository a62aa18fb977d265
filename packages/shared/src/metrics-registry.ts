import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A process's own Prometheus registry, with Node's default metrics (memory, CPU, event loop lag)
 * on it: the bench reads the heap figures from every service's /metrics.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return registry;
}
