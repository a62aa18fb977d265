import { expect } from 'chai';
import express, { type Response } from 'express';
import { NotFound, encodeCacheEntry } from '@order-service/shared';
import { keptOrders } from '../src/orders/kept-orders';

const CUSTOMER = '11111111-1111-4111-8111-111111111111';
const body = (n: number) => JSON.stringify({ order_id: `order-${n}`, customer_id: CUSTOMER, note: 'é' });

/** An app whose `etag fn` counts its calls, and a response of it (all keptOrders reads of one). */
function appCountingTags() {
  const app = express();
  const made = app.get('etag fn') as (body: string, encoding: string) => string;
  const counter = { calls: 0 };
  app.set('etag fn', (text: string, encoding: string) => {
    counter.calls++;
    return made(text, encoding);
  });
  return { res: { app } as unknown as Response, made, counter };
}

describe('keptOrders', () => {
  it("makes each kept entry ready once: its bytes and the app's own tag (express's weak default)", () => {
    const { res, made, counter } = appCountingTags();
    const entries = new Map([['a', encodeCacheEntry(3, body(1))]]);
    const find = keptOrders((id) => entries.get(id), 10);
    for (let i = 0; i < 3; i++) {
      const order = find(res, 'a', undefined)!;
      expect(order.body).to.equal(body(1));
      expect(order.bytes.equals(Buffer.from(body(1)))).to.equal(true);
      expect(order.etag).to.equal(made(body(1), 'utf8')).and.match(/^W\//);
    }
    expect(counter.calls).to.equal(1);
    // A new version is a new entry, made ready again.
    entries.set('a', encodeCacheEntry(4, body(2)));
    expect(find(res, 'a', undefined)!.body).to.equal(body(2));
    expect(counter.calls).to.equal(2);
  });

  it('answers undefined, to read on, when no copy is kept, Redis holds none, or the copy is a tombstone', () => {
    const { res } = appCountingTags();
    const entries = new Map<string, string | null>([['none', null], ['tombstone', encodeCacheEntry(2, '')]]);
    const find = keptOrders((id) => entries.get(id), 10);
    expect(find(res, 'not kept', undefined)).to.equal(undefined);
    expect(find(res, 'none', undefined)).to.equal(undefined);
    expect(find(res, 'tombstone', undefined)).to.equal(undefined);
  });

  it("shows an order to its customer and answers another customer's as not found", () => {
    const { res } = appCountingTags();
    const find = keptOrders(() => encodeCacheEntry(1, body(1)), 10);
    expect(find(res, 'a', CUSTOMER)!.body).to.equal(body(1));
    expect(() => find(res, 'a', '22222222-2222-4222-8222-222222222222')).to.throw(NotFound);
  });

  it('keeps at most maxEntries ready, forgetting the oldest', () => {
    const { res, counter } = appCountingTags();
    const find = keptOrders((id) => encodeCacheEntry(1, body(Number(id))), 2);
    for (const id of ['1', '2', '3', '1']) find(res, id, undefined);
    expect(counter.calls).to.equal(4);
    find(res, '3', undefined);
    expect(counter.calls).to.equal(4);
  });

  it('makes no tag in an app without ETags', () => {
    const app = express();
    app.set('etag', false);
    const find = keptOrders(() => encodeCacheEntry(1, body(1)), 10);
    expect(find({ app } as unknown as Response, 'a', undefined)!.etag).to.equal(undefined);
  });
});
