import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { insertOrder } from '@order-service/api/orders/orders-repository';
import { EVENT_SOURCE, ORDER_CREATED, cloudEventOf, outboxRowOf, type OrderCreated } from '@order-service/shared';
import { waitFor } from '@order-service/testkit';
import { scenario, sharedSystem, unaudited } from './support/scenario';
import type { FaultSystem } from './support/system';
import { placeOrders, postOrder } from './support/traffic';

/** Writes an order, its item and its OrderCreated row the way the API does, inside `trx`. */
async function writeOrder(trx: Parameters<typeof insertOrder>[0], product: { product_id: string; price: string }) {
  const orderId = randomUUID();
  const now = new Date();
  const event: OrderCreated = cloudEventOf({
    type: ORDER_CREATED,
    source: EVENT_SOURCE,
    time: now.toISOString(),
    data: {
      order_id: orderId,
      customer_id: randomUUID(),
      items: [{ product_id: product.product_id, quantity: 1, price: Number(product.price) }],
      total_amount: Number(product.price),
      shipping_address: 'late commit street',
      created_at: now.toISOString(),
    },
  });
  await insertOrder(trx, {
    order: { order_id: orderId, customer_id: event.data.customer_id, shipping_address: 'late commit street', total_amount: product.price, created_at: now },
    lines: [{ product_id: product.product_id, quantity: 1, price: product.price }],
    event: outboxRowOf(event),
  });
  return orderId;
}

const MARKER = 'FAULT: fail at commit';

describe('faults: the outbox under late and failed commits', () => {
  let system: FaultSystem;
  before(async () => {
    system = await sharedSystem();
  });

  it('relay, late commit: a transaction held open while later ones commit and publish is published once it commits', async () => {
    await scenario(system, 'relay-late-commit', async () => {
      const db = system.database.db;
      let others: string[] = [];
      const product = await db.selectFrom('products').select(['product_id', 'price']).executeTakeFirstOrThrow();
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let written!: (orderId: string) => void;
      const lateOrder = new Promise<string>((resolve) => (written = resolve));
      const held = db.transaction().execute(async (trx) => {
        written(await writeOrder(trx, product));
        await gate;
      });
      try {
        const lateId = await lateOrder;
        others = await placeOrders(system, 60);
        await waitFor(() => unaudited(system, others).length === 0, { timeoutMs: 60_000, what: 'the later orders to be published' });
        expect(unaudited(system, [lateId])).to.deep.equal([lateId]);
      } finally {
        release();
        await held;
      }
      const lateId = await lateOrder;
      // The held row took its id first, so a relay reading "after the last id" would skip it for good.
      const { rows } = await sql<{ late_first: boolean }>`
        SELECT (SELECT id FROM outbox_events WHERE aggregate_id = ${lateId})
             < (SELECT min(id) FROM outbox_events WHERE aggregate_id = ANY(${others}::uuid[])) AS late_first`.execute(db);
      expect(rows[0]?.late_first).to.equal(true);
      await waitFor(() => unaudited(system, [lateId]).length === 0, { timeoutMs: 30_000, what: 'the late order to be published' });
    });
  });

  it('api failure at commit, after the outbox insert: nothing is stored, nothing is published, the key is free again', async () => {
    const db = system.database.db;
    const idempotencyKey = `fault-${randomUUID()}`;
    await scenario(system, 'api-failure-at-commit', async () => {
      // A deferred constraint trigger runs at COMMIT, after the API's outbox insert succeeded.
      await sql`
        CREATE FUNCTION fault_fail_marked_orders() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.payload::jsonb -> 'data' ->> 'shipping_address' = ${sql.lit(MARKER)} THEN
            RAISE EXCEPTION 'fault injected at commit for order %', NEW.aggregate_id;
          END IF;
          RETURN NULL;
        END $$`.execute(db);
      try {
        await sql`
          CREATE CONSTRAINT TRIGGER fault_fail_at_commit AFTER INSERT ON outbox
          DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fault_fail_marked_orders()`.execute(db);
        const products = await system.products();
        const body = { customer_id: randomUUID(), items: [{ product_id: products[0]!.product_id, quantity: 2 }], shipping_address: MARKER };
        const [failures, ok] = await Promise.all([
          Promise.all(
            Array.from({ length: 5 }, (_, i) =>
              fetch(`${system.apiUrl()}/api/orders`, {
                method: 'POST',
                headers: { 'content-type': 'application/json', ...(i === 0 ? { 'idempotency-key': idempotencyKey } : {}) },
                body: JSON.stringify(body),
              }).then(async (response) => ({ status: response.status, type: response.headers.get('content-type'), text: await response.text() })),
            ),
          ),
          placeOrders(system, 40),
        ]);
        for (const failure of failures) {
          expect(failure.status, failure.text).to.equal(500);
          expect(failure.type).to.match(/^application\/problem\+json/);
          expect(failure.text).not.to.match(/fault injected|outbox|plpgsql|trigger|\bat \S+ \(/i);
        }
        expect(ok).to.have.length(40);
      } finally {
        await sql`DROP TRIGGER IF EXISTS fault_fail_at_commit ON outbox`.execute(db);
        await sql`DROP FUNCTION IF EXISTS fault_fail_marked_orders()`.execute(db);
      }
      // The key was never stored: with the fault gone it places an order, even with another body.
      const products = await system.products();
      const retry = await postOrder(
        system.apiUrl(),
        { customer_id: randomUUID(), items: [{ product_id: products[0]!.product_id, quantity: 1 }], shipping_address: 'after the fault' },
        { headers: { 'idempotency-key': idempotencyKey } },
      );
      expect(retry.status, retry.text).to.equal(201);
    });
    const stored = await db.selectFrom('orders').select('order_id').where('shipping_address', '=', MARKER).execute();
    expect(stored, 'orders stored by failed transactions').to.have.length(0);
    const published = [...system.audit.events.values()].filter((event) => event.shippingAddress === MARKER);
    expect(published, 'events of failed transactions').to.have.length(0);
  });
});
