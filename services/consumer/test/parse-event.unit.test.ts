import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { headerBytes, parsePaymentEvent, type RawMessage } from '../src/parse-event';
import { paymentEvent } from './fixtures';

const limits = { maxBodyBytes: 4_096, maxHeaderBytes: 2_048 };
const message = (body: unknown, extra: Partial<RawMessage> = {}): RawMessage => ({
  body: Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
  ...extra,
});

describe('parsePaymentEvent', () => {
  const event = paymentEvent(randomUUID(), 'SUCCEEDED');

  it('accepts a valid event as the bytes that arrived', () => {
    expect(parsePaymentEvent(message(event), limits)).to.deep.equal({ ok: true, event });
  });

  it('normalises ids to lower case, so ids that differ only in case are one id', () => {
    const upper = { ...event, id: event.id.toUpperCase(), data: { ...event.data, order_id: event.data.order_id.toUpperCase() } };
    expect(parsePaymentEvent(message(upper), limits)).to.deep.equal({ ok: true, event });
  });

  it('names what is wrong with a message that can never be applied', () => {
    const cases: Array<[RawMessage, string, RegExp]> = [
      [message('{oops'), 'invalid-message', /^not JSON/],
      [message(''), 'invalid-message', /^not JSON/],
      [message('null'), 'invalid-message', /^invalid PaymentProcessed event/],
      [message(JSON.stringify(JSON.stringify(event))), 'invalid-message', /^invalid PaymentProcessed event/],
      [message(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(event))])), 'invalid-message', /^not JSON/],
      [message(Buffer.from([0x7b, 0xff, 0x7d])), 'invalid-message', /^not UTF-8/],
      [message(event, { contentEncoding: 'gzip' }), 'invalid-message', /content-encoding gzip/],
      [message({ ...event, specversion: '0.3' }), 'invalid-message', /specversion/],
      [message({ ...event, data: { ...event.data, amount: 1.234 } }), 'invalid-message', /data\.amount/],
      [message({ ...event, data: { ...event.data, payment_id: '' } }), 'invalid-message', /data\.payment_id/],
      [message({ ...event, data: { ...event.data, payment_id: 'pay\u0000x' } }), 'invalid-message', /data\.payment_id: must not contain control/],
      [message({ ...event, data: { ...event.data, reason: 'no\u0000' } }), 'invalid-message', /data\.reason: must not contain control/],
      [message({ ...event, data: { ...event.data, reason: 'half \ud800' } }), 'invalid-message', /data\.reason: must be valid Unicode/],
      [message({ ...event, time: 'yesterday' }), 'invalid-message', /time/],
      [message(Buffer.alloc(4_097, 0x20)), 'too-large', /4097 bytes is over the limit of 4096 \(CONSUMER_MAX_BODY_BYTES\)/],
      [message(event, { headers: { big: 'x'.repeat(2_100) } }), 'headers-too-large', /^1 headers, \d+ bytes, over the limit of 2048/],
    ];
    for (const [raw, code, reason] of cases) {
      const result = parsePaymentEvent(raw, limits);
      expect(result, String(reason)).to.include({ ok: false, code });
      if (!result.ok) expect(result.reason).to.match(reason);
    }
  });

  it('refuses a body too large before reading a byte of it', () => {
    // Not JSON at all: had it been decoded, the reason would say so.
    expect(parsePaymentEvent(message(Buffer.alloc(10_000, 0xff)), limits)).to.include({ code: 'too-large' });
  });

  it('measures headers it cannot serialise as too large, and bigints as their digits', () => {
    let deep: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) deep = { a: deep };
    expect(headerBytes({ deep })).to.equal(Number.POSITIVE_INFINITY);
    expect(headerBytes({ n: 12n })).to.equal(headerBytes({ n: '12' }));
    expect(headerBytes(undefined)).to.equal(0);
  });

  it('refuses a body its connection already decoded: the consumer needs the bytes', () => {
    expect(() => parsePaymentEvent({ body: event }, limits)).to.throw(/AMQP_CLIENT_OPTIONS/);
  });
});
