import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { ValidationFailed, formatCents } from '@order-service/shared';
import { parseBody } from '../src/http/validate';
import { PlaceOrderBody, type PlaceOrderInput } from '../src/orders/order-schemas';
import { hashRequest, priceItems } from '../src/orders/place-order';

const BEANS = '11111111-1111-4111-8111-111111111111';
const FILTERS = '55555555-5555-4555-8555-555555555555';
const catalog = new Map([
  [BEANS, '24.90'],
  [FILTERS, '0.10'],
]);

const input = (items: PlaceOrderInput['items'], customer_id = '0b7e1c4e-2f5a-4b7e-9c3d-1a2b3c4d5e6f'): PlaceOrderInput => ({
  customer_id,
  items,
  shipping_address: '1 Test Street',
});

describe('priceItems', () => {
  it('sums exactly in cents: 3 × 0.10 + 3 × 24.90 = 75.00', () => {
    const { lines, total } = priceItems(
      input([
        { product_id: FILTERS, quantity: 3 },
        { product_id: BEANS, quantity: 3 },
      ]),
      catalog,
    );
    expect(total).to.equal('75.00');
    expect(lines.map((line) => line.price)).to.deep.equal(['0.10', '24.90']);
  });

  it('takes each price from the catalog, keeping the lines in request order', () => {
    const { lines } = priceItems(
      input([
        { product_id: BEANS, quantity: 1 },
        { product_id: FILTERS, quantity: 2 },
        { product_id: BEANS, quantity: 3 },
      ]),
      catalog,
    );
    expect(lines).to.deep.equal([
      { product_id: BEANS, quantity: 1, price: '24.90' },
      { product_id: FILTERS, quantity: 2, price: '0.10' },
      { product_id: BEANS, quantity: 3, price: '24.90' },
    ]);
  });

  it('equals the integer-cent sum for any prices and quantities', () => {
    const line = fc.record({ cents: fc.integer({ min: 0, max: 99_999_999 }), quantity: fc.integer({ min: 1, max: 1000 }) });
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 100 }), (lines) => {
        const ids = lines.map(() => randomUUID());
        const prices = new Map(lines.map((l, i) => [ids[i]!, formatCents(BigInt(l.cents))]));
        const { total } = priceItems(input(lines.map((l, i) => ({ product_id: ids[i]!, quantity: l.quantity }))), prices);
        const expected = lines.reduce((sum, l) => sum + BigInt(l.cents) * BigInt(l.quantity), 0n);
        expect(total).to.equal(formatCents(expected));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses unknown products, naming every such line', () => {
    const unknown = randomUUID();
    try {
      priceItems(
        input([
          { product_id: unknown, quantity: 1 },
          { product_id: BEANS, quantity: 1 },
          { product_id: unknown, quantity: 1 },
        ]),
        catalog,
      );
      expect.fail('expected a ValidationFailed');
    } catch (error) {
      expect(error).to.be.instanceOf(ValidationFailed);
      expect((error as ValidationFailed).extensions.invalid_params).to.deep.equal([
        { name: 'items[0].product_id', reason: 'unknown product' },
        { name: 'items[2].product_id', reason: 'unknown product' },
      ]);
    }
  });

  it('refuses a total that numeric(12,2) cannot hold', () => {
    const expensive = new Map([[BEANS, '9999999999.99']]);
    expect(() => priceItems(input([{ product_id: BEANS, quantity: 2 }]), expensive)).to.throw(ValidationFailed, /too large/);
    expect(priceItems(input([{ product_id: BEANS, quantity: 1 }]), expensive).total).to.equal('9999999999.99');
  });
});

describe('hashRequest', () => {
  const body = { customer_id: randomUUID(), items: [{ product_id: BEANS, quantity: 2 }], shipping_address: 'Main Street 1' };
  const hashOf = (raw: unknown) => hashRequest(parseBody(PlaceOrderBody, raw));

  it('is the same for the same request, whatever the field order, casing of ids, padding or ignored fields', () => {
    const reordered = {
      shipping_address: '  Main Street 1 ',
      items: [{ quantity: 2, product_id: BEANS }],
      customer_id: body.customer_id.toUpperCase(),
      status: 'PROCESSING',
    };
    expect(hashOf(reordered)).to.equal(hashOf(body));
    expect(hashOf(body)).to.match(/^[0-9a-f]{64}$/);
  });

  it('differs when anything that is stored differs', () => {
    const variants = [
      { ...body, customer_id: randomUUID() },
      { ...body, items: [{ product_id: BEANS, quantity: 3 }] },
      { ...body, items: [{ product_id: FILTERS, quantity: 2 }] },
      { ...body, items: [...body.items, { product_id: FILTERS, quantity: 1 }] },
      { ...body, shipping_address: 'Main Street 2' },
    ];
    const hashes = new Set([hashOf(body), ...variants.map(hashOf)]);
    expect(hashes.size).to.equal(variants.length + 1);
  });
});
