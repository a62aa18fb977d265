import { expect } from 'chai';
import { sql } from 'kysely';
import * as v from 'valibot';
import { OrderCreated, formatCents, toCents, type Db } from '@order-service/shared';
import { waitFor } from '@order-service/testkit';

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
 * OrderCreated CloudEvent that says the same. The system's relay may have published it already:
 * then its record in outbox_published names the event, and `published` gives the text the broker got.
 */
export async function expectConsistentOrder(
  db: Db,
  catalog: Map<string, string>,
  input: OrderInput,
  responseText: string,
  published: (eventId: string) => string | undefined,
) {
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

  // One statement over both tables (the view), so one snapshot: a row the relay publishes meanwhile is seen once.
  const { rows: written } = await sql<{ event_id: string; payload: string | null }>`
    SELECT event_id, payload::text AS payload FROM outbox_events WHERE aggregate_id = ${response.order_id}`.execute(db);
  const events = await Promise.all(
    written.map(async ({ event_id, payload }) => ({
      event_id,
      payload: payload ?? (await waitFor(() => published(event_id), { what: `the published ${event_id} on the audit queue` })),
    })),
  );
  expect(events, 'outbox rows of the order, pending or published').to.have.length(1);
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
