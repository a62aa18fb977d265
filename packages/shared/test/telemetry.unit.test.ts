import { ROOT_CONTEXT, SpanStatusCode, context, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { node, tracing } from '@opentelemetry/sdk-node';
import { expect } from 'chai';
import { contextFromHeaders, injectTraceHeaders, requestContext, startTelemetry, traceFields, tracingEnabled, withSpan } from '../src/telemetry';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;

/** Back to what the module sets up on import: no SDK, the W3C propagator. */
function resetGlobals() {
  trace.disable();
  context.disable();
  propagation.disable();
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
}

describe('telemetry helpers', () => {
  afterEach(resetGlobals);

  describe('without the SDK', () => {
    it('carries a traceparent from incoming headers to outgoing headers unchanged', () => {
      const ctx = contextFromHeaders({ traceparent: TRACEPARENT, tracestate: 'vendor=abc' });
      expect(injectTraceHeaders({}, ctx)).to.deep.equal({ traceparent: TRACEPARENT, tracestate: 'vendor=abc' });
    });

    it('reads an outbox row (tracestate null when there is none) and Buffer header values', () => {
      expect(injectTraceHeaders({}, contextFromHeaders({ traceparent: TRACEPARENT, tracestate: null }))).to.deep.equal({ traceparent: TRACEPARENT });
      expect(injectTraceHeaders({}, contextFromHeaders({ traceparent: Buffer.from(TRACEPARENT), tracestate: Buffer.from('a=1') }))).to.deep.equal({
        traceparent: TRACEPARENT,
        tracestate: 'a=1',
      });
    });

    it('ignores a missing or malformed traceparent and adds no header', () => {
      for (const carrier of [
        undefined,
        null,
        {},
        { traceparent: 'nonsense' },
        { traceparent: `ff-${TRACE_ID}-${SPAN_ID}-01` }, // version ff is forbidden
        { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` }, // all-zero trace id is invalid
        { traceparent: `00-${TRACE_ID}-${'0'.repeat(16)}-01` },
        { traceparent: `${TRACEPARENT}-extra` }, // version 00 has exactly four fields
        { traceparent: 42 },
      ]) {
        expect(contextFromHeaders(carrier as Record<string, unknown>)).to.equal(ROOT_CONTEXT);
        expect(injectTraceHeaders({ keep: 1 }, contextFromHeaders(carrier as Record<string, unknown>))).to.deep.equal({ keep: 1 });
      }
    });

    it('carries an unsampled context on as unsampled, and takes a request header given as an array', () => {
      const unsampled = `00-${TRACE_ID}-${SPAN_ID}-00`;
      expect(injectTraceHeaders({}, contextFromHeaders({ traceparent: unsampled }))).to.deep.equal({ traceparent: unsampled });
      expect(injectTraceHeaders({}, requestContext({ traceparent: [TRACEPARENT] }))).to.deep.equal({ traceparent: TRACEPARENT });
    });

    it('withSpan hands the caller context on, so a process without the SDK does not break the trace', async () => {
      const headers = await withSpan('handle', { traceparent: TRACEPARENT }, (span) => injectTraceHeaders({}, span));
      expect(headers).to.deep.equal({ traceparent: TRACEPARENT });
      expect(await withSpan('handle', undefined, (span) => injectTraceHeaders({}, span))).to.deep.equal({});
    });

    it('traceFields names the trace for log lines, and is empty without one', async () => {
      expect(await withSpan('log', { traceparent: TRACEPARENT }, (span) => traceFields(span))).to.deep.equal({ trace_id: TRACE_ID, span_id: SPAN_ID });
      expect(traceFields(contextFromHeaders(undefined))).to.deep.equal({});
    });

    it('withSpan returns what the function returns and rethrows what it throws', async () => {
      expect(await withSpan('ok', { traceparent: TRACEPARENT }, async () => 7)).to.equal(7);
      const error = await withSpan('fails', { traceparent: TRACEPARENT }, async () => {
        throw new Error('boom');
      }).catch((caught: unknown) => caught);
      expect(error).to.be.instanceOf(Error).with.property('message', 'boom');
    });

    it('startTelemetry does nothing when OTEL_EXPORTER_OTLP_ENDPOINT is not set', async () => {
      const telemetry = await startTelemetry('test', {});
      expect(telemetry.enabled).to.equal(false);
      expect(tracingEnabled()).to.equal(false);
      await telemetry.shutdown();
    });
  });

  describe('with a tracer provider', () => {
    let exporter: InstanceType<typeof tracing.InMemorySpanExporter>;

    beforeEach(() => {
      exporter = new tracing.InMemorySpanExporter();
      trace.setGlobalTracerProvider(
        new tracing.BasicTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] }),
      );
    });

    it('withSpan starts a child of the incoming context and injects the child', async () => {
      const headers = await withSpan('apply payment', { traceparent: TRACEPARENT }, (span) =>
        injectTraceHeaders<Record<string, unknown>>({}, span),
      );
      const [span] = exporter.getFinishedSpans();
      expect(span?.name).to.equal('apply payment');
      expect(span?.spanContext().traceId).to.equal(TRACE_ID);
      expect(span?.parentSpanContext?.spanId).to.equal(SPAN_ID);
      expect(headers.traceparent).to.equal(`00-${TRACE_ID}-${span?.spanContext().spanId}-01`);
      expect(span?.spanContext().spanId).not.to.equal(SPAN_ID);
    });

    it('requestContext continues the server span the HTTP instrumentation made, not the raw header again', async () => {
      const provider = new node.NodeTracerProvider({ spanProcessors: [new tracing.SimpleSpanProcessor(exporter)] });
      trace.disable();
      context.disable();
      provider.register();
      const server = trace.getTracer('http').startSpan('POST /api/orders', {}, contextFromHeaders({ traceparent: TRACEPARENT }));
      await context.with(trace.setSpan(ROOT_CONTEXT, server), () =>
        withSpan('place order', requestContext({ traceparent: TRACEPARENT }), () => undefined),
      );
      server.end();
      const [placeOrder] = exporter.getFinishedSpans();
      expect(placeOrder?.name).to.equal('place order');
      expect(placeOrder?.parentSpanContext?.spanId).to.equal(server.spanContext().spanId);
      expect(placeOrder?.spanContext().traceId).to.equal(TRACE_ID);
    });

    it('withSpan marks the span as failed when the function throws', async () => {
      await withSpan('fails', { traceparent: TRACEPARENT }, () => {
        throw new Error('boom');
      }).catch(() => {});
      const [span] = exporter.getFinishedSpans();
      expect(span?.status.code).to.equal(SpanStatusCode.ERROR);
      expect(span?.events.map((event) => event.name)).to.include('exception');
    });
  });

  it('startTelemetry starts the SDK when an OTLP endpoint is configured, and shuts it down', async () => {
    // Nothing is exported (no span ends), so the unreachable endpoint is never contacted.
    const telemetry = await startTelemetry('test', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      expect(telemetry.enabled).to.equal(true);
      expect(tracingEnabled()).to.equal(true);
      expect(trace.getTracer('t').startSpan('s').spanContext().traceId).not.to.equal('0'.repeat(32));
      // The SDK's propagators (OTEL_PROPAGATORS, W3C trace context by default) took over.
      expect(injectTraceHeaders({}, contextFromHeaders({ traceparent: TRACEPARENT }))).to.deep.equal({ traceparent: TRACEPARENT });
    } finally {
      await telemetry.shutdown();
      expect(tracingEnabled()).to.equal(false);
      resetGlobals();
    }
  });
});
