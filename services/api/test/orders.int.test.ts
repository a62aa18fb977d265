import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import * as v from 'valibot';
import { OrderCreated, orderCacheKey } from '@order-service/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@order-service/testkit';
import { OrderCreatedResponse, OrderView } from '../src/orders/order-schemas';
import { expectProblem } from './support/problem';
import { Products, client, countRows, orderBody, startTestApi, type TestApi } from './support/test-api';

/** Products of this file's own database, priced where binary floating point drifts. */
const Drifting = {
  a: { id: randomUUID(), price: '0.10' },
  b: { id: randomUUID(), price: '0.20' },
  c: { id: randomUUID(), price: '0.29' },
  d: { id: randomUUID(), price: '1.15' },
  e: { id: randomUUID(), price: '4.35' },
  // Hex letters in the id: upper-case requests must still find it.
  lettered: { id: 'abcdefab-cdef-4abc-8def-abcdefabcdef', price: '19.99' },
};

describe('api: placing and reading orders', () => {
  let database: TestDatabase;
  let api: TestApi;
  let http: ReturnType<typeof client>;

  before(async () => {
    database = await createTestDatabase('api_orders');
    await database.db
      .insertInto('products')
      .values(Object.entries(Drifting).map(([name, p]) => ({ product_id: p.id, name: `drift ${name}`, price: p.price })))
      .execute();
    api = await startTestApi({ databaseUrl: database.url });
    http = client(api.url);
  });

  after(async () => {
    await api?.close();
    await database?.drop();
  });

  const place = async (body: unknown, headers: Record<string, string> = {}) => {
    const response = await http.post('/api/orders', body, { headers });
    expect(response.status, response.text).to.equal(201);
    return { response, created: v.parse(OrderCreatedResponse, response.json()) };
  };

  describe('POST /api/orders', () => {
    it('answers 201 with the created order and its Location', async () => {
      const { response, created } = await place(orderBody());
      expect(created.status).to.equal('PENDING');
      expect(response.headers.location).to.equal(`/api/orders/${created.order_id}`);
      expect(Object.keys(response.json() as object).sort()).to.deep.equal(['created_at', 'order_id', 'status', 'total_amount']);
      expect((await http.get(response.headers.location!)).status).to.equal(200);
    });

    it('computes the total exactly from catalog prices: 3 × 0.10 + 3 × 24.90 = 75.00', async () => {
      // Summed as floats, these prices come to 74.99999999999999.
      const { created } = await place(orderBody());
      expect(created.total_amount).to.equal(75);
      const row = await database.db
        .selectFrom('orders')
        .select(sql<string>`total_amount::text`.as('total'))
        .where('order_id', '=', created.order_id)
        .executeTakeFirstOrThrow();
      expect(row.total).to.equal('75.00');
    });

    it('prices an order from the catalog as it is now, even after a price changed under the running API', async () => {
      const product = { id: randomUUID(), price: '10.00' };
      await database.db.insertInto('products').values({ product_id: product.id, name: 'repriced', price: product.price }).execute();
      const body = { ...orderBody(), items: [{ product_id: product.id, quantity: 3 }] };
      expect((await place(body)).created.total_amount, 'at the first price').to.equal(30);
      await database.db.updateTable('products').set({ price: '12.34' }).where('product_id', '=', product.id).execute();
      const { created } = await place(body);
      expect(created.total_amount, 'at the new price').to.equal(37.02);
      const outbox = await database.db.selectFrom('outbox').select('payload').where('aggregate_id', '=', created.order_id).executeTakeFirstOrThrow();
      const event = v.parse(OrderCreated, outbox.payload);
      expect(event.data.items[0]!.price, 'the event carries the price charged').to.equal(12.34);
      expect(event.data.total_amount).to.equal(37.02);
    });

    it('sums prices that drift in floating point without drift', async () => {
      const line = (product: { id: string }, quantity: number) => ({ product_id: product.id, quantity });
      const cases = [
        // Summed as floats, 0.30000000000000004.
        { items: [line(Drifting.a, 1), line(Drifting.b, 1)], total: 0.3 },
        // Summed as floats, 0.8699999999999999.
        { items: [line(Drifting.c, 3)], total: 0.87 },
        { items: [line(Drifting.d, 1), line(Drifting.e, 1), line(Drifting.c, 3), line(Drifting.lettered, 3)], total: 66.34 },
      ];
      for (const { items, total } of cases) {
        const { created } = await place(orderBody({ items }));
        expect(created.total_amount).to.equal(total);
        const order = (await http.get(`/api/orders/${created.order_id}`)).json<OrderView>();
        expect(order.total_amount).to.equal(total);
      }
    });

    it('accepts the bounds: quantities 1 and 1000, 100 items, a 500-character address', async () => {
      const items = Array.from({ length: 100 }, (_, i) => ({ product_id: Products.grinder.id, quantity: i === 0 ? 1 : 1000 }));
      const { created } = await place(orderBody({ items, shipping_address: 'a'.repeat(500) }));
      expect(created.total_amount).to.equal(149 * (1 + 99 * 1000));
    });

    it('ignores fields a client must not set (status, total_amount, order_id, prices)', async () => {
      const spoofedId = randomUUID();
      const body = orderBody({ status: 'PROCESSING', total_amount: 0.01, order_id: spoofedId, version: 99 });
      (body.items as Array<Record<string, unknown>>)[0]!.price = 0;
      const { created } = await place(body);
      expect(created.order_id).not.to.equal(spoofedId);
      expect(created.status).to.equal('PENDING');
      expect(created.total_amount).to.equal(75);
      const row = await database.db.selectFrom('orders').selectAll().where('order_id', '=', created.order_id).executeTakeFirstOrThrow();
      expect(row).to.include({ status: 'PENDING', total_amount: '75.00', version: 1 });
      expect(await database.db.selectFrom('orders').select('order_id').where('order_id', '=', spoofedId).execute()).to.deep.equal([]);
    });

    it('writes the full OrderCreated CloudEvent to the outbox in the same transaction as the order', async () => {
      const body = orderBody();
      const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      const { created } = await place(body, { traceparent, tracestate: 'vendor=abc' });
      const row = await database.db
        .selectFrom('outbox')
        .select(['event_id', 'event_type', 'exchange', 'routing_key', 'traceparent', 'tracestate', sql<string>`payload::text`.as('payload')])
        .where('aggregate_id', '=', created.order_id)
        .executeTakeFirstOrThrow();
      const event = v.parse(OrderCreated, JSON.parse(row.payload));
      expect(row).to.include({ event_id: event.id, event_type: 'OrderCreated', exchange: 'orders', routing_key: 'order.created', traceparent, tracestate: 'vendor=abc' });
      // Written, not published: the API leaves publishing to the relay.
      expect(await database.db.selectFrom('outbox_published').select('id').where('aggregate_id', '=', created.order_id).execute()).to.deep.equal([]);
      expect(event.data).to.deep.equal({
        order_id: created.order_id,
        customer_id: body.customer_id,
        items: [
          { product_id: Products.filters.id, quantity: 3, price: 0.1 },
          { product_id: Products.beans.id, quantity: 3, price: 24.9 },
        ],
        total_amount: 75,
        shipping_address: body.shipping_address,
        created_at: created.created_at,
      });
      // xmin is the id of the transaction that wrote a row: one transaction wrote all three.
      const { rows } = await sql<{ writers: number }>`
        SELECT count(DISTINCT xmin::text)::int AS writers FROM (
          SELECT xmin FROM orders WHERE order_id = ${created.order_id}
          UNION ALL SELECT xmin FROM order_items WHERE order_id = ${created.order_id}
          UNION ALL SELECT xmin FROM outbox WHERE aggregate_id = ${created.order_id}) AS written`.execute(database.db);
      expect(rows[0]!.writers).to.equal(1);
    });

    it('keeps a malformed traceparent out of the outbox', async () => {
      const { created } = await place(orderBody(), { traceparent: 'not-a-trace' });
      const row = await database.db.selectFrom('outbox').select('traceparent').where('aggregate_id', '=', created.order_id).executeTakeFirstOrThrow();
      expect(row.traceparent).to.equal(null);
    });

    it('treats upper-case ids as the ids they spell', async () => {
      const customer = randomUUID();
      const { created } = await place(
        orderBody({ customer_id: customer.toUpperCase(), items: [{ product_id: Drifting.lettered.id.toUpperCase(), quantity: 1 }] }),
      );
      const lower = await http.get(`/api/orders/${created.order_id}`);
      const upper = await http.get(`/api/orders/${created.order_id.toUpperCase()}`);
      expect(upper.status).to.equal(200);
      expect(upper.json()).to.deep.equal(lower.json());
      expect(lower.json<OrderView>()).to.include({ customer_id: customer, total_amount: 19.99 });
      expect(lower.json<OrderView>().items[0]!.product_id).to.equal(Drifting.lettered.id);
    });
  });

  describe('GET /api/orders/{order_id}', () => {
    it('returns the contract shape with the items in request order', async () => {
      const lines = [
        { product_id: Products.mug.id, quantity: 1 },
        { product_id: Products.filters.id, quantity: 2 },
        { product_id: Products.beans.id, quantity: 3 },
        { product_id: Products.mug.id, quantity: 4 },
      ];
      const body = orderBody({ items: lines, shipping_address: '  Line one\nLine two  ' });
      const { created } = await place(body);
      const response = await http.get(`/api/orders/${created.order_id}`);
      expect(response.status).to.equal(200);
      expect(response.headers['content-type']).to.match(/^application\/json/);
      const order = v.parse(OrderView, response.json());
      expect(Object.keys(response.json() as object).sort()).to.deep.equal(
        ['created_at', 'customer_id', 'items', 'order_id', 'shipping_address', 'status', 'total_amount', 'updated_at'],
      );
      expect(order).to.include({
        order_id: created.order_id,
        customer_id: body.customer_id,
        status: 'PENDING',
        shipping_address: 'Line one\nLine two',
        total_amount: 137.4, // 12.50 + 2 × 0.10 + 3 × 24.90 + 4 × 12.50
        created_at: created.created_at,
      });
      expect(order.items.map(({ product_id, quantity, price }) => ({ product_id, quantity, price }))).to.deep.equal([
        { ...lines[0], price: 12.5 },
        { ...lines[1], price: 0.1 },
        { ...lines[2], price: 24.9 },
        { ...lines[3], price: 12.5 },
      ]);
      expect(Object.keys(order.items[0]!).sort()).to.deep.equal(['item_id', 'price', 'product_id', 'quantity']);
      expect(new Set(order.items.map((item) => item.item_id)).size).to.equal(4);
    });

    it('an owner naming itself in upper case sees its order, cached or not; a stranger gets the 404 of an unknown id', async () => {
      const owner = randomUUID();
      const { created } = await place(orderBody({ customer_id: owner.toUpperCase() }));
      const path = `/api/orders/${created.order_id.toUpperCase()}`;
      const asOwner = { headers: { 'x-customer-id': owner.toUpperCase() } };
      // The first read misses the cache and fills it (without waiting for the write); the second is served from it.
      for (const read of ['uncached', 'cached']) {
        if (read === 'cached') await waitFor(() => api.redis.get(orderCacheKey(created.order_id)), { what: 'the order to be cached' });
        else expect(await api.redis.get(orderCacheKey(created.order_id)), 'not cached yet').to.equal(null);
        const response = await http.get(path, asOwner);
        expect(response.status, read).to.equal(200);
        expect(response.json<OrderView>().customer_id, read).to.equal(owner);
      }
      const stranger = { headers: { 'x-customer-id': randomUUID().toUpperCase() } };
      const unknownId = randomUUID();
      const unknown = await http.get(`/api/orders/${unknownId.toUpperCase()}`, stranger);
      const masked = (text: string, id: string) => text.replaceAll(id, 'ID').replaceAll(id.toUpperCase(), 'ID');
      // Another order of the owner's that nobody read yet: the stranger's read of it misses the cache.
      const { created: unread } = await place(orderBody({ customer_id: owner }));
      expect(await api.redis.get(orderCacheKey(unread.order_id)), 'the unread order is not cached').to.equal(null);
      for (const [read, orderId] of [['cached', created.order_id], ['uncached', unread.order_id]] as const) {
        const theirs = await http.get(`/api/orders/${orderId.toUpperCase()}`, stranger);
        expect(theirs.status, read).to.equal(404);
        expect(masked(theirs.text, orderId), read).to.equal(masked(unknown.text, unknownId));
      }
    });

    it('a malformed X-Customer-Id is a 400 naming the header, cached order or not', async () => {
      const { created } = await place(orderBody());
      for (const read of ['uncached', 'cached']) {
        if (read === 'cached') await waitFor(() => api.redis.get(orderCacheKey(created.order_id)), { what: 'the order to be cached' });
        const response = await http.get(`/api/orders/${created.order_id}`, { headers: { 'x-customer-id': 'not-a-uuid' } });
        expect(response.status, read).to.equal(400);
        expect(response.json<{ detail: string }>().detail, read).to.match(/X-Customer-Id/);
        // A read without the header fills the cache.
        await http.get(`/api/orders/${created.order_id}`);
      }
    });
  });

  describe('atomicity', () => {
    it('when the outbox insert fails, neither the order, its items nor its key are stored', async () => {
      await sql`
        CREATE FUNCTION refuse_marked_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.payload::text LIKE '%outbox-must-fail%' THEN RAISE EXCEPTION 'outbox refused this event'; END IF;
          RETURN NEW;
        END $$`.execute(database.db);
      await sql`CREATE TRIGGER refuse_marked_event BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_marked_event()`.execute(
        database.db,
      );
      try {
        const before = await countRows(database.db);
        const response = await http.post('/api/orders', orderBody({ shipping_address: 'outbox-must-fail' }), {
          headers: { 'idempotency-key': randomUUID() },
        });
        const problem = expectProblem(response, 500);
        expect(response.text).not.to.match(/outbox refused|trigger|P0001/);
        expect(problem.detail).to.equal('An unexpected error occurred.');
        expect(await countRows(database.db)).to.deep.equal(before);
        // Orders without the marker still go through the same statement.
        await place(orderBody());
      } finally {
        await sql`DROP TRIGGER refuse_marked_event ON outbox`.execute(database.db);
        await sql`DROP FUNCTION refuse_marked_event()`.execute(database.db);
      }
    });
  });

  describe('Idempotency-Key', () => {
    it('20 concurrent POSTs with one key create exactly one order and all get the same response', async () => {
      const key = randomUUID();
      const body = orderBody();
      const responses = await Promise.all(Array.from({ length: 20 }, () => http.post('/api/orders', body, { headers: { 'idempotency-key': key } })));
      for (const response of responses) expect(response.status, response.text).to.equal(201);
      expect(new Set(responses.map((r) => r.text)).size).to.equal(1);
      expect(responses.filter((r) => r.headers['idempotent-replayed'] === 'true')).to.have.length(19);
      const orders = await database.db.selectFrom('orders').select('order_id').where('customer_id', '=', body.customer_id).execute();
      expect(orders).to.have.length(1);
      expect(orders[0]!.order_id).to.equal(responses[0]!.json<{ order_id: string }>().order_id);
      const events = await database.db.selectFrom('outbox').select('id').where('aggregate_id', '=', orders[0]!.order_id).execute();
      expect(events).to.have.length(1);
    });

    it('a retry with the same key and body replays the original response', async () => {
      const key = `retry-${randomUUID()}`;
      const body = orderBody();
      const first = await place(body, { 'idempotency-key': key });
      const before = await countRows(database.db);
      // The same request, with its fields in another order and an ignored extra field.
      const retry = await http.post(
        '/api/orders',
        { shipping_address: body.shipping_address, items: body.items, customer_id: body.customer_id, note: 'retry' },
        { headers: { 'idempotency-key': key } },
      );
      expect(retry.status).to.equal(201);
      expect(retry.json()).to.deep.equal(first.response.json());
      expect(retry.headers.location).to.equal(first.response.headers.location);
      expect(retry.headers['idempotent-replayed']).to.equal('true');
      expect(first.response.headers['idempotent-replayed']).to.equal(undefined);
      expect(await countRows(database.db)).to.deep.equal(before);
    });

    it('the same key with a different body is a 422 and stores nothing', async () => {
      const key = randomUUID();
      const body = orderBody();
      await place(body, { 'idempotency-key': key });
      const before = await countRows(database.db);
      const other = { ...body, items: [{ product_id: Products.mug.id, quantity: 1 }] };
      const problem = expectProblem(await http.post('/api/orders', other, { headers: { 'idempotency-key': key } }), 422);
      expect(problem.invalid_params).to.deep.equal([{ name: 'Idempotency-Key', reason: 'reused with a different body' }]);
      expect(await countRows(database.db)).to.deep.equal(before);
    });

    it('the same key from two customers is two keys: each gets an order of its own, neither a replay', async () => {
      const key = `shared-${randomUUID()}`;
      const first = await place(orderBody(), { 'idempotency-key': key });
      // Another body as well: under a global key this would be a 422 telling B that A used the key.
      const second = await place(orderBody({ items: [{ product_id: Products.mug.id, quantity: 2 }] }), { 'idempotency-key': key });
      expect(second.created.order_id).not.to.equal(first.created.order_id);
      expect(second.response.headers['idempotent-replayed']).to.equal(undefined);
      expect(second.created.total_amount).to.equal(25);
      const keys = await database.db.selectFrom('idempotency_keys').select(['customer_id', 'order_id']).where('idempotency_key', '=', key).execute();
      expect(keys).to.have.length(2);
    });

    it('racing retries of two customers sharing a key create exactly one order each', async () => {
      const key = randomUUID();
      const bodies = [orderBody(), orderBody()];
      const responses = await Promise.all(
        Array.from({ length: 20 }, (_, i) => http.post('/api/orders', bodies[i % 2], { headers: { 'idempotency-key': key } })),
      );
      for (const response of responses) expect(response.status, response.text).to.equal(201);
      for (const body of bodies) {
        const orders = await database.db.selectFrom('orders').select('order_id').where('customer_id', '=', body.customer_id).execute();
        expect(orders, body.customer_id).to.have.length(1);
      }
      expect(new Set(responses.map((r) => r.json<{ order_id: string }>().order_id)).size).to.equal(2);
    });

    it("a customer's retry with its id in upper case is the same customer's retry", async () => {
      const key = randomUUID();
      const body = orderBody();
      const first = await place(body, { 'idempotency-key': key });
      const retry = await place({ ...body, customer_id: body.customer_id.toUpperCase() }, { 'idempotency-key': key });
      expect(retry.created.order_id).to.equal(first.created.order_id);
      expect(retry.response.headers['idempotent-replayed']).to.equal('true');
    });

    it('a key whose first request was refused stays free for a valid request', async () => {
      const key = randomUUID();
      const refused = await http.post('/api/orders', orderBody({ items: [{ product_id: randomUUID(), quantity: 1 }] }), {
        headers: { 'idempotency-key': key },
      });
      expectProblem(refused, 422);
      await place(orderBody(), { 'idempotency-key': key });
    });
  });
});
