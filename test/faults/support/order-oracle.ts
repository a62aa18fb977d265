import { expect } from 'chai';
import { sql } from 'kysely';
import * as v from 'valibot';
import { OrderCreated, formatCents, toCents, type Db } from '@order-service/shared';

export interface CatalogEntry {
  product_id: string;
  /** numeric(12,2) as Postgres prints it. */
  price: string;
}

export interface OrderInput {
  customer_id: string;
  items: Array<{ product_id: string; quantity: number }>;
  shipping_address: string;
}

/**
 * Checks a 201 against the contract, independently of the API's code: the total is exactly
 * Σ catalog price × quantity (in cents), the stored order and its items are what was asked
 * (ids in lower case, the address trimmed), and exactly one outbox row holds a valid
 * OrderCreated CloudEvent that says the same.
 */
export async function expectConsistentOrder(db: Db, catalog: Map<string, string>, input: OrderInput, responseText: string) {
  const response = JSON.parse(responseText) as { order_id: string; status: string; total_amount: number };
  const lines = input.items.map((item) => {
    const price = catalog.get(item.product_id.toLowerCase());
    expect(price, `catalog price of ${item.product_id}`).to.be.a('string');
    return { product_id: item.product_id.toLowerCase(), quantity: item.quantity, price: price! };
  });
  const totalCents = lines.reduce((sum, line) => sum + toCents(line.price) * BigInt(line.quantity), 0n);
  const total = formatCents(totalCents);
  expect(response.status).to.equal('PENDING');
  expect(response.total_amount).to.equal(Number(total));

  const order = await db.selectFrom('orders').selectAll().where('order_id', '=', response.order_id).executeTakeFirstOrThrow();
  expect(order.customer_id).to.equal(input.customer_id.toLowerCase());
  expect(order.shipping_address).to.equal(input.shipping_address.trim());
  // The system's relay and consumer run meanwhile, so the payment may already be applied.
  expect(order.status).to.be.oneOf(['PENDING', 'PROCESSING', 'FAILED']);
  expect(order.total_amount).to.equal(total);

  const items = await db
    .selectFrom('order_items')
    .select(['product_id', 'quantity', sql<string>`price::text`.as('price')])
    .where('order_id', '=', response.order_id)
    .orderBy('line_number')
    .execute();
  expect(items).to.deep.equal(lines);

  const events = await db.selectFrom('outbox').select(['event_id', sql<string>`payload::text`.as('payload')]).where('aggregate_id', '=', response.order_id).execute();
  expect(events, 'outbox rows of the order').to.have.length(1);
  const parsed = v.safeParse(OrderCreated, JSON.parse(events[0]!.payload));
  expect(parsed.success, `OrderCreated payload: ${JSON.stringify(parsed.issues?.map((issue) => issue.message))}`).to.equal(true);
  const event = parsed.output as OrderCreated;
  expect(event.id).to.equal(events[0]!.event_id);
  expect(event.data.order_id).to.equal(response.order_id);
  expect(event.data.customer_id).to.equal(order.customer_id);
  expect(event.data.total_amount).to.equal(Number(total));
  expect(event.data.shipping_address).to.equal(order.shipping_address);
  expect(event.data.items).to.deep.equal(lines.map((line) => ({ product_id: line.product_id, quantity: line.quantity, price: Number(line.price) })));
}
