import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { bodyBytes, parsePaymentEvent } from '../src/parse-event';
import { paymentEvent } from './fixtures';

describe('parsePaymentEvent', () => {
  const event = paymentEvent(randomUUID(), 'SUCCEEDED');

  it('accepts a valid event as bytes, as text, or already parsed', () => {
    for (const body of [Buffer.from(JSON.stringify(event)), JSON.stringify(event), event]) {
      expect(parsePaymentEvent(body)).to.deep.equal({ ok: true, event });
    }
  });

  it('names what is wrong with a message that can never be applied', () => {
    const cases: Array<[unknown, RegExp]> = [
      [Buffer.from('{oops'), /^not JSON/],
      [Buffer.from(''), /^not JSON/],
      [Buffer.from('null'), /^invalid PaymentProcessed event/],
      [{ ...event, specversion: '0.3' }, /specversion/],
      [{ ...event, data: { ...event.data, amount: 1.234 } }, /data\.amount/],
      [{ ...event, data: { ...event.data, payment_id: '' } }, /data\.payment_id/],
      [{ ...event, time: 'yesterday' }, /time/],
    ];
    for (const [body, reason] of cases) {
      const result = parsePaymentEvent(body);
      expect(result.ok, String(reason)).to.equal(false);
      if (!result.ok) expect(result.reason).to.match(reason);
    }
  });

  it('keeps a body as bytes for the DLQ', () => {
    const raw = Buffer.from([0xff, 0x00, 0x01]);
    expect(bodyBytes(raw)).to.equal(raw);
    expect(bodyBytes('text').toString()).to.equal('text');
    expect(JSON.parse(bodyBytes({ a: 1 }).toString())).to.deep.equal({ a: 1 });
  });
});
