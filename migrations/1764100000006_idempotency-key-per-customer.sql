-- Up Migration
-- An Idempotency-Key is scoped to its customer: the same key from two customers is two keys, and
-- one customer can neither replay nor block another's order through a key they happen to share.
ALTER TABLE idempotency_keys ADD COLUMN customer_id uuid;
-- Every key row commits with its order (the deferred foreign key), so each existing key has one.
UPDATE idempotency_keys k SET customer_id = o.customer_id FROM orders o WHERE o.order_id = k.order_id;
ALTER TABLE idempotency_keys ALTER COLUMN customer_id SET NOT NULL;
-- Racing retries of one customer still wait on this key's row and then find its order.
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (customer_id, idempotency_key);
-- Each key created its own order. The index serves the cascade when an order is deleted, and
-- gives retention pruning a single-column key to delete by.
CREATE UNIQUE INDEX idempotency_keys_order_id_idx ON idempotency_keys (order_id);

-- Down Migration
-- One global key space again: where customers shared a key, the oldest use keeps it and the
-- others lose only the ability to replay (their orders stay).
DELETE FROM idempotency_keys newer USING idempotency_keys older
  WHERE newer.idempotency_key = older.idempotency_key
    AND (newer.created_at, newer.customer_id) > (older.created_at, older.customer_id);
DROP INDEX idempotency_keys_order_id_idx;
ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey, ADD PRIMARY KEY (idempotency_key);
ALTER TABLE idempotency_keys DROP COLUMN customer_id;
