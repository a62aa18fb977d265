import { setImmediate } from 'node:timers/promises';
import type { Connection } from 'rabbitmq-client';
import { createRenewingConfirmChannel, envelopeOf, withDeadline, type Clock } from '@order-service/shared';
import { SpanKind, injectTraceHeaders, tracingEnabled, withSpan } from '@order-service/shared/telemetry';
import type { ClaimedRow } from './outbox-repository';

const SEND_SLICE = 50;

export type PublishOutcome =
  | { row: ClaimedRow; ok: true; confirmedAt: number }
  | { row: ClaimedRow; ok: false; error: string };

export interface OutboxPublisher {
  /** Publishes every row at once and resolves when each is confirmed, failed or timed out. */
  publishBatch(rows: ClaimedRow[]): Promise<PublishOutcome[]>;
  close(): Promise<void>;
}

const describe = (error: unknown) => {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return code ? `${String(code)}: ${error.message}` : error.message;
  }
  return String(error);
};

/**
 * A confirm-mode publisher that pipelines a whole batch: every message is written at once and
 * the confirms come back asynchronously, on a confirm channel used directly, with no retries of
 * its own: a failure goes back to the outbox, which retries with backoff and parks in the end. A nack or
 * a confirm that never came (a cluster node died with it) moves the next batch to a new channel.
 */
export function createOutboxPublisher(
  connection: Connection,
  clock: Clock,
  options: { timeoutMs: number; knownExchanges: string[] },
): OutboxPublisher {
  const publisher = createRenewingConfirmChannel(connection);
  const known = new Set(['', ...options.knownExchanges]);

  /**
   * Publishing to a missing exchange closes the channel, which would fail every other message
   * in flight with it. A passive declare finds such rows first, so only they fail.
   */
  async function missingExchanges(rows: ClaimedRow[]): Promise<Map<string, string>> {
    const missing = new Map<string, string>();
    for (const exchange of new Set(rows.map((row) => row.exchange))) {
      if (known.has(exchange)) continue;
      try {
        await withDeadline(connection.exchangeDeclare({ exchange, passive: true }), options.timeoutMs, 'the broker');
        known.add(exchange);
      } catch (error) {
        missing.set(exchange, describe(error));
      }
    }
    return missing;
  }

  async function publishBatch(rows: ClaimedRow[]): Promise<PublishOutcome[]> {
    const missing = await missingExchanges(rows);
    const outcomes: Array<PublishOutcome | undefined> = rows.map((row) => {
      const problem = missing.get(row.exchange);
      return problem === undefined ? undefined : { row, ok: false, error: `exchange ${row.exchange}: ${problem}` };
    });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, options.timeoutMs);
    });
    const sends: Array<Promise<void>> = [];
    for (const [index, row] of rows.entries()) {
      if (outcomes[index]) continue;
      // Each send writes to the socket at once; yielding every few dozen lets the claim that
      // runs meanwhile (and the confirms) be read between them instead of after the whole batch.
      if (sends.length > 0 && sends.length % SEND_SLICE === 0) await setImmediate();
      // A Buffer body keeps our content type (the client would label a string text/plain).
      const body = Buffer.from(row.body);
      // With the SDK, a span per event continues the order's trace (the row's context) until the
      // confirm; without it, nothing is parsed or made per event.
      const sent = tracingEnabled()
        ? withSpan(
            `${row.exchange} publish`,
            { traceparent: row.traceparent, tracestate: row.tracestate },
            (span) => publisher.send(envelopeOf(row, injectTraceHeaders({}, span)), body),
            { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'rabbitmq', 'messaging.message.id': row.event_id } },
          )
        : publisher.send(envelopeOf(row), body);
      sends.push(
        sent.then(
          () => {
            outcomes[index] ??= { row, ok: true, confirmedAt: clock.now() };
          },
          (error: unknown) => {
            outcomes[index] ??= { row, ok: false, error: describe(error) };
          },
        ),
      );
    }
    const settledInTime = await Promise.race([Promise.all(sends).then(() => true), timedOut.then(() => false)]);
    clearTimeout(timer);
    if (!settledInTime) publisher.renew();
    // Whatever is still unconfirmed counts as failed now; a late confirm changes nothing (the
    // row is retried and published again, which at-least-once allows).
    return rows.map((row, index) => {
      outcomes[index] ??= { row, ok: false, error: `no confirm within ${options.timeoutMs} ms` };
      return outcomes[index];
    });
  }

  return { publishBatch, close: () => publisher.close() };
}
