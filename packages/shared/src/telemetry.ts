import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  createTraceState,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';

/**
 * Tracing across the broker hop. OpenTelemetry has no instrumentation for rabbitmq-client, so the
 * W3C trace context travels by hand: the API stores the request's `traceparent` with the outbox
 * row, the relay sends it as the `traceparent` AMQP header, and each receiver continues it.
 *
 * The helpers here work with or without the SDK. Without it, @opentelemetry/api's no-op tracer
 * hands the parent's span context through unchanged, so a receiver still forwards the caller's
 * `traceparent` and the trace is not broken by a process that does not export spans.
 */

export interface Telemetry {
  /** True when the SDK was started (OTEL_EXPORTER_OTLP_ENDPOINT is set). */
  enabled: boolean;
  /** Flushes and stops the exporter; call it last in the shutdown sequence. */
  shutdown(): Promise<void>;
}

/** The AMQP header names that carry the W3C trace context. */
export const TRACEPARENT_HEADER = 'traceparent';
export const TRACESTATE_HEADER = 'tracestate';

const TRACEPARENT = /^([\da-f]{2})-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})(?:-.*)?$/;

/**
 * Starts the OpenTelemetry Node SDK, exporting traces over OTLP, only when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set. Otherwise the SDK is never imported, so tracing costs
 * nothing. Metrics stay with prom-client and logs with pino; the SDK exports traces only.
 * Every other setting comes from the standard OTEL_* variables, which the SDK reads itself.
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
  sdk.start();
  return { enabled: true, shutdown: () => sdk.shutdown() };
}

/** Parses a W3C `traceparent` value into a remote span context, or undefined when malformed. */
export function parseTraceparent(value: string, traceState?: string) {
  const text = value.trim().toLowerCase();
  const match = TRACEPARENT.exec(text);
  // Version ff is invalid; version 00 has exactly four fields (later versions may append more).
  if (!match || match[1] === 'ff' || (match[1] === '00' && text.length !== 55)) return undefined;
  const spanContext = {
    traceId: match[2]!,
    spanId: match[3]!,
    traceFlags: Number.parseInt(match[4]!, 16) & 1,
    isRemote: true,
    ...(traceState ? { traceState: createTraceState(traceState) } : {}),
  };
  return isSpanContextValid(spanContext) ? spanContext : undefined;
}

const headerText = (value: unknown) => (typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : undefined);

/**
 * The trace context carried by a message's headers (or a bare `traceparent` string, as stored in
 * the outbox). Returns the root context when there is none or it is malformed.
 */
export function contextFromHeaders(carrier: Record<string, unknown> | string | null | undefined): Context {
  const headers = typeof carrier === 'string' ? { [TRACEPARENT_HEADER]: carrier } : (carrier ?? {});
  const traceparent = headerText(headers[TRACEPARENT_HEADER]);
  if (!traceparent) return ROOT_CONTEXT;
  const spanContext = parseTraceparent(traceparent, headerText(headers[TRACESTATE_HEADER]));
  return spanContext ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/**
 * Adds `traceparent` (and `tracestate`) of `from` (a span, or the span active in a context) to
 * `headers`, and returns them. Adds nothing when there is no valid span, so a message never
 * carries a bogus context. Pass the span from `withSpan` explicitly: without the SDK there is no
 * context manager, so `context.active()` does not see it.
 */
export function injectTraceHeaders<T extends Record<string, unknown>>(headers: T = {} as T, from: Span | Context = context.active()): T {
  const spanContext = isSpan(from) ? from.spanContext() : trace.getSpanContext(from);
  if (!spanContext || !isSpanContextValid(spanContext)) return headers;
  const flags = (spanContext.traceFlags & 0xff).toString(16).padStart(2, '0');
  const out: Record<string, unknown> = headers;
  out[TRACEPARENT_HEADER] = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const state = spanContext.traceState?.serialize();
  if (state) out[TRACESTATE_HEADER] = state;
  return headers;
}

const isSpan = (value: Span | Context): value is Span => typeof (value as Partial<Span>).spanContext === 'function';

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
 * Runs `fn` inside a new span that continues the context carried by `parent` (AMQP headers or a
 * traceparent string), and makes it the active span when the SDK runs. `injectTraceHeaders(h, span)`
 * inside `fn` carries the trace on: with the SDK it names the new span, without it the caller's
 * own context. The span records the exception and an error status when `fn` throws, and always ends.
 */
export async function withSpan<T>(
  name: string,
  parent: Record<string, unknown> | string | null | undefined,
  fn: (span: Span) => Promise<T> | T,
  options: SpanOptions = {},
): Promise<T> {
  const tracer = trace.getTracer('order-service');
  return tracer.startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
    contextFromHeaders(parent),
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

export { SpanKind };
export type { Span };
