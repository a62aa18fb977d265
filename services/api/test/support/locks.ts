import pg from 'pg';

/**
 * Claims a customer's Idempotency-Key in a transaction the test keeps open, so a POST of that
 * customer with that key blocks on the row lock: a request held in flight for as long as the test wants.
 */
export async function holdIdempotencyKey(databaseUrl: string, customerId: string, key: string) {
  const holder = new pg.Client({ connectionString: databaseUrl, application_name: 'test-lock-holder' });
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query(
    `INSERT INTO idempotency_keys (customer_id, idempotency_key, request_hash, order_id) VALUES ($1, $2, 'held', gen_random_uuid())`,
    [customerId, key],
  );
  return {
    /** Rolls back, so the blocked request claims the key and goes on. */
    async release() {
      await holder.query('ROLLBACK').catch(() => undefined);
      await holder.end();
    },
  };
}
