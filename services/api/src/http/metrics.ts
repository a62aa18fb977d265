import type { Request, RequestHandler } from 'express';
import { Histogram } from 'prom-client';
import { createRegistry } from '@order-service/shared';

export function createMetrics() {
  const registry = createRegistry();
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route and status',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return { registry, httpDuration };
}

/** `/api/orders` + `/` → `/api/orders`; `/api/orders` + `/:order_id` → `/api/orders/:order_id`. */
const joinRoute = (base: string, path: string) => `${base}${path}`.replace(/(.)\/$/, '$1');

/**
 * Records the full route pattern as soon as a route matches. Express assigns `req.route` at
 * that moment, while `req.baseUrl` still holds the mount path; by the time the response
 * finishes, an error that left the router has already reset `req.baseUrl`, which would label
 * every failed POST /api/orders as `/`.
 */
function captureRoute(req: Request): () => string | undefined {
  let route: unknown;
  let pattern: string | undefined;
  Object.defineProperty(req, 'route', {
    configurable: true,
    enumerable: true,
    get: () => route,
    set: (value: { path?: unknown } | undefined) => {
      route = value;
      if (value && typeof value.path === 'string') pattern = joinRoute(req.baseUrl, value.path);
    },
  });
  return () => pattern;
}

/** Times every request, labelled by its route pattern (never the raw URL, which would explode cardinality). */
export function requestTimer(httpDuration: Histogram<'method' | 'route' | 'status_code'>): RequestHandler {
  return (req, res, next) => {
    const end = httpDuration.startTimer();
    const matchedRoute = captureRoute(req);
    res.once('finish', () => {
      const route = matchedRoute() ?? (res.statusCode === 404 ? 'unmatched' : req.baseUrl || 'unmatched');
      end({ method: req.method, route, status_code: res.statusCode });
    });
    next();
  };
}
