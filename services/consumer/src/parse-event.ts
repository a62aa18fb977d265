import * as v from 'valibot';
import { PaymentProcessed, type DeadLetterCode } from '@order-service/shared';

export interface MessageLimits {
  /** CONSUMER_MAX_BODY_BYTES */
  maxBodyBytes: number;
  /** CONSUMER_MAX_HEADER_BYTES */
  maxHeaderBytes: number;
}

/** What of a delivery is read here: its raw body (see AMQP_CLIENT_OPTIONS), headers and encoding. */
export interface RawMessage {
  body: unknown;
  headers?: Record<string, unknown>;
  contentEncoding?: string;
}

export type ParseResult = { ok: true; event: PaymentProcessed } | { ok: false; code: DeadLetterCode; reason: string };

// fatal: malformed UTF-8 is refused rather than read as U+FFFD; ignoreBOM keeps a BOM, which JSON refuses.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The raw text of a message body. A connection made with AMQP_CLIENT_OPTIONS hands over a
 * Buffer; other rabbitmq-client connections hand over a string or a value they decoded.
 */
export function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (typeof body === 'string') return body;
  return JSON.stringify(body);
}

/**
 * The size of headers as JSON text: an estimate of their encoded size, good enough for a budget.
 * Headers that cannot be measured (nested too deeply to serialise) count as too large.
 */
export function headerBytes(headers: Record<string, unknown> | undefined): number {
  if (headers === undefined) return 0;
  try {
    return Buffer.byteLength(JSON.stringify(headers, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)));
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

const invalid = (reason: string): ParseResult => ({ ok: false, code: 'invalid-message', reason });

/**
 * Checks a PaymentProcessed message, cheapest test first: its size and headers before a byte is
 * decoded, then strict UTF-8, one JSON.parse (a JSON string holding an event is not an event),
 * and the shared CloudEvent schema. A failure can never succeed later, so the code and reason
 * returned here go with the message to the DLQ.
 */
export function parsePaymentEvent(msg: RawMessage, limits: MessageLimits): ParseResult {
  if (!Buffer.isBuffer(msg.body)) throw new TypeError('the consumer needs raw message bodies: connect with AMQP_CLIENT_OPTIONS');
  const size = msg.body.byteLength;
  if (size > limits.maxBodyBytes) {
    return { ok: false, code: 'too-large', reason: `body of ${size} bytes is over the limit of ${limits.maxBodyBytes} (CONSUMER_MAX_BODY_BYTES)` };
  }
  const headersSize = headerBytes(msg.headers);
  if (headersSize > limits.maxHeaderBytes) {
    const count = Object.keys(msg.headers ?? {}).length;
    const measured = Number.isFinite(headersSize) ? `${headersSize} bytes` : 'too deeply nested to measure';
    return {
      ok: false,
      code: 'headers-too-large',
      reason: `${count} headers, ${measured}, over the limit of ${limits.maxHeaderBytes} bytes (CONSUMER_MAX_HEADER_BYTES)`,
    };
  }
  if (msg.contentEncoding !== undefined && msg.contentEncoding !== '' && msg.contentEncoding !== 'identity') {
    return invalid(`content-encoding ${msg.contentEncoding} is not supported: events are plain UTF-8 JSON`);
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8.decode(msg.body));
  } catch (error) {
    return invalid(error instanceof TypeError ? 'not UTF-8 text' : `not JSON: ${(error as Error).message}`);
  }
  const result = v.safeParse(PaymentProcessed, json);
  if (!result.success) {
    const problems = result.issues.slice(0, 5).map((issue) => `${v.getDotPath(issue) ?? '(event)'}: ${issue.message}`);
    return invalid(`invalid PaymentProcessed event: ${problems.join('; ')}`);
  }
  return { ok: true, event: result.output };
}
