-- Up Migration
-- One row per Idempotency-Key, written in the same transaction as the order it created.
-- The primary key makes racing retries wait for the first one and then find its order.
CREATE TABLE idempotency_keys (
  idempotency_key text PRIMARY KEY CHECK (char_length(idempotency_key) BETWEEN 1 AND 255),
  -- SHA-256 of the canonical request body; the same key with another body is refused.
  request_hash text NOT NULL,
  -- Deferred: the key is claimed first, so a racing retry waits on it before any order is written.
  order_id uuid NOT NULL REFERENCES orders (order_id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Down Migration
DROP TABLE idempotency_keys;
