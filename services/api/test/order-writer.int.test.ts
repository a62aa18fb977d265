import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { EVENT_SOURCE, ORDER_CREATED, cloudEventOf, createDb, outboxRowOf, type SessionSettings } from '@order-service/shared';
import { createTestDatabase, type TestDatabase } from '@order-service/testkit';
import { createOrderWriter } from '../src/orders/order-writer';
import { API_SESSION } from '../src/config';
import { insertOrders, type NewOrder } from '../src/orders/orders-repository';

describe('api: the order writer (orders of concurrent requests share a statement)', () => {
  let database: TestDatabase;
  const product = { product_id: randomUUID(), price: '3.50' };

  before(async () => {
    database = await createTestDatabase('api_order_writer');
    await database.db.insertInto('products').values({ product_id: product.product_id, name: 'writer test', price: product.price }).execute();
  });

  after(async () => {
    await database?.drop();
  });

  /** One order of one line, as placeOrder hands it over. */
  function newOrder(options: { price?: string; address?: string; customerId?: string; key?: string } = {}): NewOrder {
    const orderId = randomUUID();
    const customerId = options.customerId ?? randomUUID();
    const price = options.price ?? product.price;
    const address = options.address ?? '1 Writer Street';
    const now = new Date();
    const event = cloudEventOf({
      type: ORDER_CREATED,
      source: EVENT_SOURCE,
      time: now.toISOString(),
      data: {
        order_id: orderId,
        customer_id: customerId,
        items: [{ product_id: product.product_id, quantity: 2, price: Number(price) }],
        total_amount: Number(price) * 2,
        shipping_address: address,
        created_at: now.toISOString(),
      },
    });
    return {
      order: { order_id: orderId, customer_id: customerId, shipping_address: address, total_amount: (Number(price) * 2).toFixed(2), created_at: now },
      lines: [{ product_id: product.product_id, quantity: 2, price }],
      event: outboxRowOf(event),
      key: options.key === undefined ? undefined : { idempotency_key: options.key, request_hash: 'h' },
    };
  }

  /** The transaction (xmin) that wrote each of these orders, by order id. */
  async function writtenBy(orders: NewOrder[]): Promise<Map<string, string>> {
    const ids = orders.map((o) => o.order.order_id);
    const { rows } = await sql<{ order_id: string; xid: string }>`
      select order_id::text, xmin::text as xid from orders where order_id = any(${ids}::uuid[])`.execute(database.db);
    return new Map(rows.map((row) => [row.order_id, row.xid]));
  }

  const count = async (table: 'order_items' | 'outbox', orders: NewOrder[]) => {
    const ids = orders.map((o) => o.order.order_id);
    const column = table === 'outbox' ? sql.ref('aggregate_id') : sql.ref('order_id');
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where ${column} = any(${ids}::uuid[])`.execute(database.db);
    return rows[0]!.n;
  };

  it('writes the orders that arrive together in one transaction, deciding each on its own', async () => {
    const writer = createOrderWriter(database.db, { inFlight: 1, perWrite: 64 });
    const customerId = randomUUID();
    const good = Array.from({ length: 5 }, () => newOrder());
    const stale = newOrder({ price: '3.49' });
    const sameKey = [newOrder({ customerId, key: 'k-1' }), newOrder({ customerId, key: 'k-1' })];

    const [goodWritten, staleWritten, keyWritten] = await Promise.all([
      Promise.all(good.map((o) => writer.write(o))),
      writer.write(stale),
      Promise.all(sameKey.map((o) => writer.write(o))),
    ]);

    expect(goodWritten).to.deep.equal(good.map(() => ({ pricesMatch: true, created: true })));
    expect(staleWritten).to.deep.equal({ pricesMatch: false, created: false });
    // One use of the key creates the order; the other finds the key taken.
    expect(keyWritten.map((w) => w.created).sort()).to.deep.equal([false, true]);
    expect(keyWritten.every((w) => w.pricesMatch)).to.equal(true);

    const created = [...good, sameKey[keyWritten[0]!.created ? 0 : 1]!];
    const transactions = await writtenBy([...created, stale, ...sameKey]);
    expect(transactions.size, 'the stale order and the second use of the key wrote nothing').to.equal(created.length);
    expect(new Set(transactions.values()).size, 'one transaction').to.equal(1);
    expect(await count('order_items', created)).to.equal(created.length);
    expect(await count('outbox', created)).to.equal(created.length);
    expect(await count('outbox', [stale])).to.equal(0);
  });

  it('fails only the order Postgres refuses: the others of its statement are written again on their own', async () => {
    const writer = createOrderWriter(database.db, { inFlight: 1, perWrite: 64 });
    const good = Array.from({ length: 3 }, () => newOrder());
    // Longer than the orders table's check allows (validation would refuse it before it got here).
    const refused = newOrder({ address: 'x'.repeat(501) });

    const outcomes = await Promise.allSettled([...good, refused].map((o) => writer.write(o)));

    expect(outcomes.slice(0, 3).map((o) => o.status)).to.deep.equal(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(outcomes[3]!.status).to.equal('rejected');
    expect(String((outcomes[3] as PromiseRejectedResult).reason)).to.match(/orders_shipping_address_check/);
    expect((await writtenBy(good)).size).to.equal(3);
    expect(await count('outbox', good)).to.equal(3);
    expect(await count('outbox', [refused])).to.equal(0);
  });

  it('runs at most `inFlight` statements at once, each with at most `perWrite` orders', async () => {
    const writer = createOrderWriter(database.db, { inFlight: 2, perWrite: 3 });
    const orders = Array.from({ length: 10 }, () => newOrder());

    await Promise.all(orders.map((o) => writer.write(o)));

    const sizes = new Map<string, number>();
    for (const xid of (await writtenBy(orders)).values()) sizes.set(xid, (sizes.get(xid) ?? 0) + 1);
    expect([...sizes.values()].sort()).to.deep.equal([1, 3, 3, 3]);
  });

  it('gives orders that come one after another statements of their own', async () => {
    const writer = createOrderWriter(database.db, { inFlight: 1, perWrite: 64 });
    const first = newOrder();
    const second = newOrder();

    await writer.write(first);
    await writer.write(second);

    const transactions = await writtenBy([first, second]);
    expect(new Set(transactions.values()).size).to.equal(2);
  });

  it("plans the order statement once for all calls in the api's sessions (Postgres, left to choose, plans it on every call)", async () => {
    const plans = async (settings: SessionSettings) => {
      const session = createDb(database.url, { max: 1, applicationName: 'api-plan', ...settings });
      try {
        for (let i = 0; i < 8; i++) await insertOrders(session, [newOrder()]);
        const { rows } = await sql<{ generic: string; custom: string }>`
          select generic_plans::text as generic, custom_plans::text as custom from pg_prepared_statements where name = 'insert-orders'`.execute(session);
        return { generic: Number(rows[0]!.generic), custom: Number(rows[0]!.custom) };
      } finally {
        await session.destroy();
      }
    };
    expect(await plans({})).to.deep.equal({ generic: 0, custom: 8 });
    expect(await plans(API_SESSION)).to.deep.equal({ generic: 8, custom: 0 });
  });
});
