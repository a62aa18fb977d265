import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { sql } from 'kysely';
import { REPO_ROOT, createTestDatabase, type TestDatabase } from '@order-service/testkit';

const MIGRATION = readFileSync(`${REPO_ROOT}/migrations/1764100000006_idempotency-key-per-customer.sql`, 'utf8');
const [up, down] = MIGRATION.replace('-- Up Migration', '').split('-- Down Migration') as [string, string];

describe('migration: Idempotency-Keys per customer', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase('api_idem_migration');
  });
  after(async () => {
    await database?.drop();
  });

  const insertOrder = async (customerId: string) => {
    const orderId = randomUUID();
    await sql`INSERT INTO orders (order_id, customer_id, shipping_address, total_amount) VALUES (${orderId}, ${customerId}, 'x', 1)`.execute(database.db);
    return orderId;
  };

  it("fills an existing key's customer from its order, and down again keeps the oldest use of a shared key", async () => {
    await sql.raw(down).execute(database.db);
    const customer = randomUUID();
    const orderId = await insertOrder(customer);
    await sql`INSERT INTO idempotency_keys (idempotency_key, request_hash, order_id) VALUES ('before-upgrade', 'h', ${orderId})`.execute(database.db);

    await sql.raw(up).execute(database.db);
    const row = await database.db.selectFrom('idempotency_keys').selectAll().where('idempotency_key', '=', 'before-upgrade').executeTakeFirstOrThrow();
    expect(row).to.include({ customer_id: customer, order_id: orderId });

    const other = randomUUID();
    const later = await insertOrder(other);
    await sql`INSERT INTO idempotency_keys (customer_id, idempotency_key, request_hash, order_id, created_at)
              VALUES (${other}, 'before-upgrade', 'h', ${later}, now() + interval '1 second')`.execute(database.db);
    await sql.raw(down).execute(database.db);
    const { rows } = await sql<{ order_id: string }>`SELECT order_id FROM idempotency_keys WHERE idempotency_key = 'before-upgrade'`.execute(database.db);
    expect(rows).to.deep.equal([{ order_id: orderId }]);
    await sql.raw(up).execute(database.db);
  });
});
