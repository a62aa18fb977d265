import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import fc from 'fast-check';
import { BadRequest, ValidationFailed, type InvalidParam } from '@order-service/shared';
import { parseBody, parseParams } from '../src/http/validate';
import { MAX_ADDRESS_LENGTH, MAX_ITEMS, MAX_QUANTITY, OrderIdParam, PlaceOrderBody, isCanonicalId } from '../src/orders/order-schemas';

const PRODUCT = '33333333-3333-4333-8333-333333333333';
const valid = () => ({ customer_id: randomUUID(), items: [{ product_id: PRODUCT, quantity: 1 }], shipping_address: 'Main Street 1' });

/** The invalid_params of the 422 that parseBody throws for `body`. */
function invalidParams(body: unknown): InvalidParam[] {
  try {
    parseBody(PlaceOrderBody, body);
  } catch (error) {
    expect(error).to.be.instanceOf(ValidationFailed);
    expect((error as ValidationFailed).status).to.equal(422);
    return (error as ValidationFailed).extensions.invalid_params as InvalidParam[];
  }
  return expect.fail('expected the body to be refused');
}
const names = (body: unknown) => invalidParams(body).map((param) => param.name);

describe('PlaceOrderBody through parseBody', () => {
  it('accepts a valid body and strips every unknown field', () => {
    const body = { ...valid(), status: 'FAILED', total_amount: 0, order_id: randomUUID() };
    const output = parseBody(PlaceOrderBody, body);
    expect(output).to.deep.equal({ customer_id: body.customer_id, items: body.items, shipping_address: body.shipping_address });
  });

  it('trims the address and lower-cases ids', () => {
    const body = { ...valid(), customer_id: 'ABCDEFAB-CDEF-4ABC-8DEF-ABCDEFABCDEF', shipping_address: '\n Main Street 1 \t' };
    const output = parseBody(PlaceOrderBody, body);
    expect(output.customer_id).to.equal('abcdefab-cdef-4abc-8def-abcdefabcdef');
    expect(output.shipping_address).to.equal('Main Street 1');
  });

  it('reports every invalid field with its path, at once', () => {
    const params = invalidParams({
      customer_id: 'x',
      items: [{ product_id: PRODUCT, quantity: 1 }, { product_id: 'y', quantity: 0 }],
      shipping_address: '',
    });
    expect(params.map((p) => p.name)).to.deep.equal(['customer_id', 'items[1].product_id', 'items[1].quantity', 'shipping_address']);
    expect(params.find((p) => p.name === 'customer_id')?.reason).to.equal('must be a UUID');
  });

  it('reports a body that is not an object at the body itself', () => {
    expect(names(null)).to.deep.equal(['(body)']);
    expect(names('order')).to.deep.equal(['(body)']);
  });

  it('bounds the number of items (1..100) before looking at any item', () => {
    expect(names({ ...valid(), items: [] })).to.deep.equal(['items']);
    const tooMany = Array.from({ length: MAX_ITEMS + 1 }, () => ({ junk: true }));
    expect(invalidParams({ ...valid(), items: tooMany })).to.deep.equal([{ name: 'items', reason: 'must have at most 100 items' }]);
    expect(names({ ...valid(), items: { 0: valid().items[0] } })).to.deep.equal(['items']);
    const hundred = Array.from({ length: MAX_ITEMS }, () => ({ product_id: PRODUCT, quantity: 1 }));
    expect(parseBody(PlaceOrderBody, { ...valid(), items: hundred }).items).to.have.length(MAX_ITEMS);
  });

  it('bounds quantities to whole numbers in 1..1000', () => {
    for (const quantity of [1, MAX_QUANTITY]) {
      expect(parseBody(PlaceOrderBody, { ...valid(), items: [{ product_id: PRODUCT, quantity }] }).items[0]!.quantity).to.equal(quantity);
    }
    for (const quantity of [0, MAX_QUANTITY + 1, 2.5, Number.NaN, Infinity, '1', null]) {
      expect(names({ ...valid(), items: [{ product_id: PRODUCT, quantity }] }), String(quantity)).to.include('items[0].quantity');
    }
  });

  it('bounds the address to 1..500 printable characters', () => {
    expect(parseBody(PlaceOrderBody, { ...valid(), shipping_address: 'é'.repeat(MAX_ADDRESS_LENGTH) }).shipping_address).to.have.length(500);
    expect(parseBody(PlaceOrderBody, { ...valid(), shipping_address: 'Line 1\nLine 2\tapt 3' }).shipping_address).to.include('\n');
    for (const address of ['x'.repeat(MAX_ADDRESS_LENGTH + 1), '', '   ', 'a\u0000b', 'a\u001bb', 'a\u007fb', 'a\udc00b', 'a\ud83db']) {
      expect(names({ ...valid(), shipping_address: address }), JSON.stringify(address)).to.deep.equal(['shipping_address']);
    }
    // A well-formed surrogate pair (an emoji) is ordinary text.
    expect(parseBody(PlaceOrderBody, { ...valid(), shipping_address: 'Main Street 1 \u{1F3E0}' }).shipping_address).to.include('\u{1F3E0}');
  });
});

describe('OrderIdParam through parseParams', () => {
  it('accepts a UUID in any case and lower-cases it', () => {
    const id = randomUUID();
    expect(parseParams(OrderIdParam, { order_id: id.toUpperCase() })).to.deep.equal({ order_id: id });
  });

  it('refuses anything else with a 400 naming the parameter', () => {
    for (const order_id of ['nope', '', `${randomUUID()}x`, '123']) {
      expect(() => parseParams(OrderIdParam, { order_id })).to.throw(BadRequest, /order_id must be a UUID/);
    }
  });
});

describe('isCanonicalId, the check that stands for OrderIdParam on the GET path', () => {
  it('holds only for ids the schema returns unchanged', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uuid().map((id) => id.toLowerCase()), fc.uuid().map((id) => id.toUpperCase()), fc.uuid(), fc.string()), (order_id) => {
        if (!isCanonicalId(order_id)) return;
        expect(parseParams(OrderIdParam, { order_id })).to.deep.equal({ order_id });
      }),
    );
  });

  it('leaves an upper-case id and anything malformed to the schema', () => {
    const id = randomUUID();
    for (const value of [id.toUpperCase(), 'nope', '', `${id}x`, ` ${id}`, `${id}\n`, undefined, 42]) expect(isCanonicalId(value), String(value)).to.equal(false);
    expect(isCanonicalId(id)).to.equal(true);
  });
});
