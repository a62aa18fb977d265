import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Span,
  type TextMapGetter,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * Tracing across processes with OpenTelemetry's propagators. HTTP is instrumented (see
 * `instrument.ts`); rabbitmq-client is not, so the API stores the W3C trace context with the
 * outbox row (`traceparent`, `tracestate`), the relay sends it as AMQP headers, and each receiver
 * extracts it from the headers and injects its own span into what it sends on.
 *
 * The helpers work with or without the SDK. Without it the W3C propagator is still registered and
 * @opentelemetry/api's no-op tracer hands the parent's span context through unchanged, so a process
 * that does not export spans forwards the caller's trace context and does not break the trace.
 */

export interface Telemetry {
  /** True when the SDK was started (OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  enabled: boolean;
  /** Flushes and stops the exporter; call it last in the shutdown sequence. */
  shutdown(): Promise<void>;
}

/** Headers, or an outbox row's trace columns: the carrier of a W3C trace context. */
export type TraceCarrier = Record<string, unknown>;

let sdkRunning = false;

/** True while the SDK started by `startTelemetry` runs: a hot path may skip span work without it. */
export const tracingEnabled = (): boolean => sdkRunning;

// The SDK replaces this with the propagators OTEL_PROPAGATORS names (W3C trace context and baggage by default).
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

/**
 * The one carrier no library provides: AMQP header values of rabbitmq-client arrive as strings or
 * Buffers, an outbox row's columns are null when empty, and Node's HTTP headers may be arrays.
 */
const carrierGetter: TextMapGetter<TraceCarrier> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value = carrier[key];
    if (typeof value === 'string' || Array.isArray(value)) return value as string | string[];
    return Buffer.isBuffer(value) ? value.toString('utf8') : undefined;
  },
};

/**
 * Starts the OpenTelemetry Node SDK, exporting traces over OTLP, only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Otherwise the SDK is never imported, so tracing costs
 * nothing. The instrumentations (HTTP, express, pg) are registered before the service's modules
 * load, by `instrument.ts`; the spans they make are recorded from here on. Metrics stay with
 * prom-client and logs with pino; the SDK exports traces only. Every other setting comes from the
 * standard OTEL_* variables, which the SDK reads itself.
 */
export async function startTelemetry(
  serviceName: string,
  env: Record<string, string | undefined> = process.env,
): Promise<Telemetry> {
  if (!env.OTEL_EXPORTER_OTLP_ENDPOINT) return { enabled: false, shutdown: async () => {} };
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const sdk = new NodeSDK({
    serviceName: env.OTEL_SERVICE_NAME ?? serviceName,
    metricReaders: [],
    logRecordProcessors: [],
  });
  // Lets the SDK register the propagators it is configured with, in place of the default above.
  propagation.disable();
  sdk.start();
  sdkRunning = true;
  return {
    enabled: true,
    shutdown: async () => {
      sdkRunning = false;
      await sdk.shutdown();
    },
  };
}

/** The trace context carried by message headers or an outbox row; the root context when there is none or it is malformed. */
export function contextFromHeaders(carrier: TraceCarrier | null | undefined): Context {
  return carrier ? propagation.extract(ROOT_CONTEXT, carrier, carrierGetter) : ROOT_CONTEXT;
}

/**
 * The context a request handler continues: the HTTP instrumentation's server span when the SDK
 * runs, otherwise the caller's trace context from the request headers.
 */
export function requestContext(headers: TraceCarrier): Context {
  const active = context.active();
  return trace.getSpan(active) ? active : contextFromHeaders(headers);
}

const isSpan = (value: Span | Context): value is Span => typeof (value as Partial<Span>).spanContext === 'function';
const asContext = (from: Span | Context) => (isSpan(from) ? trace.setSpan(ROOT_CONTEXT, from) : from);

/**
 * Adds the W3C trace context (`traceparent`, and `tracestate` when there is one) of `from` (a span,
 * or the span in a context) to `headers`, and returns them. Adds nothing when there is no valid
 * span, so a message never carries a bogus context. Pass the span from `withSpan` explicitly:
 * without the SDK there is no context manager, so `context.active()` does not see it.
 */
export function injectTraceHeaders<T extends TraceCarrier>(headers: T = {} as T, from: Span | Context = context.active()): T {
  propagation.inject(asContext(from), headers);
  return headers;
}

/**
 * `{ trace_id, span_id }` of a span (or a context) for log lines, so logs and traces can be
 * joined; empty when there is no valid span.
 */
export function traceFields(from: Span | Context = context.active()): { trace_id?: string; span_id?: string } {
  const spanContext = isSpan(from) ? from.spanContext() : trace.getSpanContext(from);
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
}

/**
 * Runs `fn` inside a new span that continues `parent` (a context, or the trace context carried by
 * message headers or an outbox row), and makes it the active span when the SDK runs.
 * `injectTraceHeaders(h, span)` inside `fn` carries the trace on: with the SDK it names the new
 * span, without it the caller's own context. The span records the exception and an error status
 * when `fn` throws, and always ends.
 */
export async function withSpan<T>(
  name: string,
  parent: Context | TraceCarrier | null | undefined,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
): Promise<T> {
  const tracer = trace.getTracer('order-service');
  const parentContext = isContext(parent) ? parent : contextFromHeaders(parent);
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
    parentContext,
    async (span) => {
      try {
        return await fn(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

const isContext = (value: Context | TraceCarrier | null | undefined): value is Context =>
  typeof (value as Partial<Context> | null | undefined)?.getValue === 'function';

export { SpanKind };
export type { Span };
