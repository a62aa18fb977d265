import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { BODY_LIMIT_BYTES } from '@order-service/shared';
import { orderPostHead, type RawAnswer, type RawRequest } from './raw-http';

/**
 * The hostile requests of issue 12, shared by the in-process tests and the fault tests against a
 * running api. Each POST carries a valid order and an Idempotency-Key of its own, so anything the
 * server stored by mistake would show in the orders and the keys.
 */
export interface HostileRequest {
  name: string;
  request: Omit<RawRequest, 'deadlineMs'>;
}

const validOrder = (customerId: string) =>
  JSON.stringify({
    customer_id: customerId,
    items: [{ product_id: '33333333-3333-4333-8333-333333333333', quantity: 1 }],
    shipping_address: '12 Hostile Road',
  });

const orderHead = (headers: string) => orderPostHead(`Idempotency-Key: ${randomUUID()}\r\n${headers}`);

/** Requests that never arrive in full: each must get 408 once the request timeout passes. */
export function neverEndingRequests(): HostileRequest[] {
  const body = validOrder(randomUUID());
  return [
    {
      name: 'a chunked body without its last chunk',
      request: { head: `${orderHead('Transfer-Encoding: chunked\r\n')}${body.length.toString(16)}\r\n${body}\r\n` },
    },
    { name: 'a Content-Length larger than what is sent', request: { head: orderHead(`Content-Length: ${body.length + 1}\r\n`) + body } },
    // Leading whitespace is valid JSON, so the body stays a valid order, just one that takes forever.
    {
      name: 'a body sent one byte every 10 s',
      request: { head: orderHead(`Content-Length: ${body.length + 1_000}\r\n`), drip: { byte: ' ', everyMs: 10_000 } },
    },
    { name: 'headers that never end', request: { head: 'GET /api/products HTTP/1.1\r\nHost: api\r\n' } },
  ];
}

/** Declared lengths over the 1 MiB limit, from one byte over to past what 64 bits hold. */
export const OVERSIZED_LENGTHS = [String(BODY_LIMIT_BYTES + 1), '9223372036854775808', '18446744073709551615', '99999999999999999999'];

/** Requests declaring a body over the limit, on routes that take a body and routes that do not: 413 at once. */
export function oversizedRequests(): HostileRequest[] {
  return OVERSIZED_LENGTHS.flatMap((length) => [
    { name: `POST /api/orders declaring ${length} bytes`, request: { head: orderHead(`Content-Length: ${length}\r\n`) } },
    {
      name: `POST /api/orders declaring ${length} bytes, expecting 100-continue`,
      request: { head: orderHead(`Content-Length: ${length}\r\nExpect: 100-continue\r\n`) },
    },
    ...['GET /api/products', 'GET /api/orders/{id}', 'GET /healthz', 'PUT /api/orders'].map((line) => ({
      name: `${line} declaring ${length} bytes`,
      request: { head: `${line.replace('{id}', randomUUID())} HTTP/1.1\r\nHost: api\r\nContent-Length: ${length}\r\n\r\n` },
    })),
  ]);
}

/** Request lines that are not HTTP/1.x (llhttp lets 0.9 and 2.0 through): 400. */
export function unsupportedVersionRequests(): HostileRequest[] {
  const body = validOrder(randomUUID());
  return [
    { name: 'an HTTP/0.9 request line (no version)', request: { head: 'GET /api/products\r\n\r\n' } },
    { name: 'an HTTP/0.9 request line for /', request: { head: 'GET /\r\n\r\n' } },
    { name: 'an HTTP/0.9 request line, then end of input', request: { head: 'GET /api/products\r\n', endAfterHead: true } },
    { name: 'an explicit HTTP/0.9 version', request: { head: 'GET /api/products HTTP/0.9\r\nHost: api\r\n\r\n' } },
    { name: 'an HTTP/2.0 request line', request: { head: 'GET /api/products HTTP/2.0\r\nHost: api\r\n\r\n' } },
    {
      name: 'an HTTP/2.0 POST of a valid order',
      request: { head: orderHead(`Content-Length: ${body.length}\r\n`).replace('HTTP/1.1', 'HTTP/2.0') + body },
    },
  ];
}

/** The request got `status` as problem+json within `withinMs`, and the server closed the connection. */
export function expectRefused(answer: RawAnswer, status: number, withinMs: number): void {
  expect(answer.status, answer.raw.slice(0, 300)).to.equal(status);
  expect(answer.headers['content-type']).to.match(/^application\/problem\+json/);
  expect(answer.headers.connection).to.equal('close');
  expect(JSON.parse(answer.body)).to.include({ status });
  expect(answer.answeredAfterMs, 'time to the answer').to.be.below(withinMs);
  expect(answer.closedAfterMs, 'the server closes the connection').to.be.a('number');
}
