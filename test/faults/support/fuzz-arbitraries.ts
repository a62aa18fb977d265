import fc from 'fast-check';
import type { OrderInput } from './order-oracle';

/** A high surrogate without its low half, or a low one without its high half. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The contract's address rule, written independently of the API: 1–500 characters once trimmed, printable, well-formed. */
export function isValidAddress(address: string): boolean {
  const trimmed = address.trim();
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  const control = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/;
  return trimmed.length >= 1 && trimmed.length <= 500 && !control.test(trimmed) && !LONE_SURROGATE.test(trimmed);
}

const printableAscii = (maxLength: number, minLength = 0) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)), minLength, maxLength });

/** A UUID as a client may write it: lower or upper case. */
const anyCaseUuid = fc.tuple(fc.uuid(), fc.boolean()).map(([id, upper]) => (upper ? id.toUpperCase() : id));

const address = fc
  .tuple(fc.constantFrom('', ' ', '\n', '\t '), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 120 }), fc.constantFrom('', ' ', ' \n'))
  .map(([before, core, after]) => `${before}${core}${after}`)
  .filter(isValidAddress);

/** Bodies the contract says must be accepted, sometimes with fields a client may not set. */
export function validOrder(productIds: string[]): fc.Arbitrary<OrderInput & Record<string, unknown>> {
  const productId = fc.tuple(fc.constantFrom(...productIds), fc.boolean()).map(([id, upper]) => (upper ? id.toUpperCase() : id));
  const item = fc.record({ product_id: productId, quantity: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.constantFrom(1, 1000)) });
  const items = fc.oneof(
    { arbitrary: fc.array(item, { minLength: 1, maxLength: 6 }), weight: 9 },
    { arbitrary: fc.array(item, { minLength: 95, maxLength: 100 }), weight: 1 },
  );
  const ignored = fc.record(
    { status: fc.constantFrom('PROCESSING', 'FAILED', 'PAID'), total_amount: fc.double(), order_id: fc.uuid(), extra: fc.jsonValue() },
    { requiredKeys: [] },
  );
  return fc
    .tuple(fc.record({ customer_id: anyCaseUuid, items, shipping_address: address }), ignored)
    .map(([order, extra]) => ({ ...extra, ...order }));
}

type Mutation = (order: Record<string, unknown>) => Record<string, unknown>;

/** One broken field of an otherwise valid body: each must be a 422, and store nothing. */
export function invalidOrder(productIds: string[]): fc.Arbitrary<Record<string, unknown>> {
  const without = (key: string): Mutation => (order) => Object.fromEntries(Object.entries(order).filter(([name]) => name !== key));
  const set = (key: string, value: unknown): Mutation => (order) => ({ ...order, [key]: value });
  const setItem = (key: string, value: unknown): Mutation => (order) => {
    const items = [...(order.items as Array<Record<string, unknown>>)];
    items[0] = { ...items[0], [key]: value };
    return { ...order, items };
  };
  const junk = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.integer(),
    fc.constant(null),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.object({ maxDepth: 1 }),
  );
  const mutation: fc.Arbitrary<Mutation> = fc.oneof(
    fc.constantFrom('customer_id', 'items', 'shipping_address').map(without),
    // Any string but a UUID is a bad customer id; for the other fields a string may be valid, so only other types.
    junk.filter((value) => typeof value !== 'string' || !/^[\da-f-]{36}$/i.test(value)).map((value) => set('customer_id', value)),
    fc.tuple(fc.constantFrom('items', 'shipping_address'), junk.filter((value) => typeof value !== 'string')).map(([key, value]) => set(key, value)),
    fc.constantFrom<unknown>([], '', 'x'.repeat(501), '   ', 'a\u0000b', 'bad \ud800 text', 'tab\u0007bell').map((value) =>
      Array.isArray(value) ? set('items', value) : set('shipping_address', value),
    ),
    fc.integer({ min: 101, max: 150 }).map((count) => (order: Record<string, unknown>) => ({
      ...order,
      items: Array.from({ length: count }, () => (order.items as unknown[])[0]),
    })),
    fc.constantFrom<unknown>(0, -1, 1001, 1.5, '1', null, 1e21, Number.MAX_SAFE_INTEGER + 2).map((value) => setItem('quantity', value)),
    fc
      .oneof(fc.uuid(), fc.string({ maxLength: 40 }), fc.constant(null))
      .filter((id) => !productIds.includes(String(id).toLowerCase()))
      .map((id) => setItem('product_id', id)),
    fc.constantFrom('product_id', 'quantity').map((key) => (order: Record<string, unknown>) => {
      const items = [...(order.items as Array<Record<string, unknown>>)];
      items[0] = without(key)(items[0]!);
      return { ...order, items };
    }),
  );
  return fc.tuple(validOrder(productIds), mutation).map(([order, mutate]) => mutate(order));
}

/** Anything at all as a body: JSON values of every shape, and text that may not be JSON. */
export const anyBody: fc.Arbitrary<string> = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value) ?? 'null'),
  fc.string({ maxLength: 200 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('{', '{"items":', '[]', '{}', 'null', '"\\ud800"', '{"customer_id":1e999}', '\uFEFF{}', '{"__proto__":{"x":1}}'),
);

const JSON_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/cloudevents+json',
  'application/merge-patch+json',
];
const OTHER_TYPES = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'text/json'];

/** A content type a client might send; `json` tells whether the contract calls it JSON. */
export const contentType = fc.oneof(
  fc.constantFrom(...JSON_TYPES).map((type) => ({ type, json: true as boolean | undefined })),
  fc.constantFrom(...OTHER_TYPES).map((type) => ({ type, json: false as boolean | undefined })),
  fc
    .constantFrom('application/json; charset=latin1', 'application/json; charset=utf-16', 'application/json;;', '*/*', '')
    .map((type) => ({ type, json: undefined })),
  printableAscii(60).map((type) => ({ type, json: undefined })),
);

/** Headers the HTTP client owns (or the property sets itself). */
const RESERVED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'expect',
  'upgrade',
  'te',
  'trailer',
  'keep-alive',
  'content-type',
]);

/** Extra request headers: an Idempotency-Key of any length, junk traceparents, anything else. */
export const extraHeaders = fc
  .record(
    {
      'idempotency-key': printableAscii(300),
      traceparent: fc.oneof(printableAscii(80), fc.constant('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01')),
      'x-forwarded-for': printableAscii(60),
      'content-encoding': fc.constantFrom('identity', 'gzip', 'br', 'x-junk'),
      accept: printableAscii(40),
    },
    { requiredKeys: [] },
  )
  .chain((known) =>
    fc
      .dictionary(fc.stringMatching(/^x-[a-z0-9-]{1,20}$/), printableAscii(60), { maxKeys: 3 })
      .map((more) => Object.fromEntries(Object.entries({ ...more, ...known }).filter(([name]) => !RESERVED_HEADERS.has(name)))),
  );

/** Order ids as they may appear in a path: valid, upper case, near misses and junk. */
export const anyOrderId = fc.oneof(
  fc.uuid().map((id) => ({ path: id, valid: true })),
  fc.uuid().map((id) => ({ path: id.toUpperCase(), valid: true })),
  fc.string({ maxLength: 60 }).map((id) => ({ path: encodeURIComponent(id), valid: undefined as boolean | undefined })),
  fc
    .constantFrom('%', '%zz', '%E0%A4%A', '..', '%2e%2e', 'null', '0', '{00000000-0000-0000-0000-000000000000}', '0'.repeat(32))
    .map((path) => ({ path, valid: false as boolean | undefined })),
);

export { printableAscii };
