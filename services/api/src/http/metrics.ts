import type { Request, RequestHandler, Response } from 'express';
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
 * joinRoute, worked out once per route and mount path: this app mounts its routers on fixed
 * paths, so each route has one or two. Looked up by the route object, then the mount path, so a
 * request builds no key. A mount path with parameters would be a path per URL: past MAX_PATTERNS
 * for one route the join is done each time instead of kept.
 */
const MAX_PATTERNS = 256;
const patterns = new WeakMap<object, Map<string, string>>();
function patternOf(route: { path: string }, base: string): string {
  let byBase = patterns.get(route);
  if (byBase === undefined) patterns.set(route, (byBase = new Map()));
  let pattern = byBase.get(base);
  if (pattern === undefined) {
    pattern = joinRoute(base, route.path);
    if (byBase.size < MAX_PATTERNS) byBase.set(base, pattern);
  }
  return pattern;
}

/** What the timer learns about one request while it is routed. */
interface Timing {
  route: unknown;
  pattern: string | undefined;
  /** When the request reached the timer (performance.now()). */
  start: number;
}
const TIMING = Symbol('request timing');
interface Timed {
  baseUrl: string;
  [TIMING]?: Timing;
}

/**
 * Records the full route pattern as soon as a route matches. Express assigns `req.route` at
 * that moment, while `req.baseUrl` still holds the mount path; by the time the response
 * finishes, an error that left the router has already reset `req.baseUrl`, which would label
 * every failed POST /api/orders as `/`. The accessor is defined once, on the requests'
 * prototype, and writes into the request's own small Timing: one defined on each request gave
 * every request a shape of its own, which every later property access on it paid for.
 */
function captureRoutes(proto: object): void {
  Object.defineProperty(proto, 'route', {
    configurable: true,
    enumerable: true,
    get(this: Timed) {
      return this[TIMING]?.route;
    },
    set(this: Timed, value: { path?: unknown } | undefined) {
      const timing = this[TIMING];
      if (!timing) return void Object.defineProperty(this, 'route', { value, writable: true, configurable: true, enumerable: true });
      timing.route = value;
      if (value && typeof value.path === 'string') timing.pattern = patternOf(value as { path: string }, this.baseUrl);
    },
  });
}

/** Times every request, labelled by its route pattern (never the raw URL, which would explode cardinality). */
export function requestTimer(httpDuration: Histogram<'method' | 'route' | 'status_code'>): RequestHandler {
  const capturing = new WeakSet<object>();
  // One listener for every response, not a closure per request: it finds its request through
  // express's `res.req`. `on`, not `once`: a response finishes once and is dropped after it,
  // so there is nothing to remove.
  function recordFinished(this: Response) {
    const req = this.req as Request & Timed;
    const timing = req[TIMING]!;
    const route = timing.pattern ?? (this.statusCode === 404 ? 'unmatched' : req.baseUrl || 'unmatched');
    httpDuration.observe({ method: req.method, route, status_code: this.statusCode }, (performance.now() - timing.start) / 1000);
  }
  return (req, res, next) => {
    // Express gives each app's requests the app's own prototype.
    const proto = Object.getPrototypeOf(req) as object;
    if (!capturing.has(proto)) {
      captureRoutes(proto);
      capturing.add(proto);
    }
    (req as Request & Timed)[TIMING] = { route: undefined, pattern: undefined, start: performance.now() };
    res.on('finish', recordFinished);
    next();
  };
}
