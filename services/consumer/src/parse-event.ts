import * as v from 'valibot';
import { PaymentProcessed } from '@order-service/shared';

export type ParseResult = { ok: true; event: PaymentProcessed } | { ok: false; reason: string };

/**
 * The raw text of a message body. rabbitmq-client hands over a Buffer, a string (text/plain) or
 * an already parsed value (application/json that parsed), so all three come back to text here.
 */
export function bodyText(body: unknown): string {
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (typeof body === 'string') return body;
  return JSON.stringify(body);
}

/** The body as bytes, for republishing a message unchanged (to the DLQ). */
export function bodyBytes(body: unknown): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(bodyText(body), 'utf8');
}

/**
 * Checks a PaymentProcessed message with the shared CloudEvent schema. A failure can never
 * succeed later, so the reason returned here goes with the message to the DLQ.
 */
export function parsePaymentEvent(body: unknown): ParseResult {
  let json: unknown = body;
  if (Buffer.isBuffer(body) || typeof body === 'string') {
    try {
      json = JSON.parse(bodyText(body));
    } catch (error) {
      return { ok: false, reason: `not JSON: ${(error as Error).message}` };
    }
  }
  const result = v.safeParse(PaymentProcessed, json);
  if (!result.success) {
    const problems = result.issues.slice(0, 5).map((issue) => `${v.getDotPath(issue) ?? '(event)'}: ${issue.message}`);
    return { ok: false, reason: `invalid PaymentProcessed event: ${problems.join('; ')}` };
  }
  return { ok: true, event: result.output };
}
