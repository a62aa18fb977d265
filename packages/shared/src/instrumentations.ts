import type { Instrumentation } from '@opentelemetry/instrumentation';

/** Probes and scrapes answer every few seconds in every process; a trace each would bury the orders. */
const OPS_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * The maintained instrumentations every process registers when tracing is on: incoming and
 * outgoing HTTP, express routes and middleware, and pg queries. A pg query becomes a span only
 * inside a trace (an order, a message), so the relay's polls and the retention jobs make none.
 */
export async function instrumentations(): Promise<Instrumentation[]> {
  const [{ HttpInstrumentation }, { ExpressInstrumentation }, { PgInstrumentation }] = await Promise.all([
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-express'),
    import('@opentelemetry/instrumentation-pg'),
  ]);
  return [
    new HttpInstrumentation({
      ignoreIncomingRequestHook: (request) => OPS_PATHS.has((request.url ?? '').split('?')[0]!),
      requireParentforOutgoingSpans: true,
    }),
    new ExpressInstrumentation(),
    new PgInstrumentation({ requireParentSpan: true }),
  ];
}
