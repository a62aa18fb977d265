import { expect } from 'chai';
import { sql } from 'kysely';
import { systemClock } from '@order-service/shared';
import { createTestDatabase, type TestDatabase } from '@order-service/testkit';
import { pruneIdempotencyKeys } from '../src/orders/idempotency-retention';
import { parseBody } from '../src/http/validate';
import { PlaceOrderBody } from '../src/orders/order-schemas';
import { placeOrder } from '../src/orders/place-order';
import { orderBody } from './support/test-api';

describe('api: pruning expired Idempotency-Keys', () => {
  let database: TestDatabase;

  before(async () => {
    database = await createTestDatabase('api_idem');
  });
  after(async () => {
    await database?.drop();
  });

  it('deletes keys past the retention in batches, keeps newer keys and every order', async () => {
    for (let i = 0; i < 5; i += 1) await placeOrder(database.db, parseBody(PlaceOrderBody, orderBody()), systemClock, { idempotencyKey: `old-${i}` });
    await placeOrder(database.db, parseBody(PlaceOrderBody, orderBody()), systemClock, { idempotencyKey: 'fresh' });
    await sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE idempotency_key LIKE 'old-%'`.execute(database.db);

    expect(await pruneIdempotencyKeys(database.db, 24, 2)).to.equal(5);

    const keys = await database.db.selectFrom('idempotency_keys').select('idempotency_key').execute();
    expect(keys.map((k) => k.idempotency_key)).to.deep.equal(['fresh']);
    const { count } = await database.db.selectFrom('orders').select((eb) => eb.fn.countAll<string>().as('count')).executeTakeFirstOrThrow();
    expect(Number(count)).to.equal(6);
  });

  it("prunes one customer's expired key without touching another customer's fresh use of the same key", async () => {
    const old = parseBody(PlaceOrderBody, orderBody());
    const fresh = parseBody(PlaceOrderBody, orderBody());
    await placeOrder(database.db, old, systemClock, { idempotencyKey: 'shared' });
    await placeOrder(database.db, fresh, systemClock, { idempotencyKey: 'shared' });
    await sql`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE customer_id = ${old.customer_id}`.execute(database.db);

    expect(await pruneIdempotencyKeys(database.db, 24)).to.equal(1);

    const keys = await database.db.selectFrom('idempotency_keys').select('customer_id').where('idempotency_key', '=', 'shared').execute();
    expect(keys).to.deep.equal([{ customer_id: fresh.customer_id }]);
  });
});
