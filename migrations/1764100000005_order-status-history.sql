-- Up Migration
-- An audit trail of status changes: one row per applied transition, written by the consumer in
-- the same transaction as the change, naming the event (and payment) that caused it.
CREATE TABLE order_status_history (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  order_id uuid NOT NULL REFERENCES orders ON DELETE CASCADE,
  from_status text NOT NULL,
  to_status text NOT NULL,
  event_id uuid NOT NULL,
  payment_id text,
  reason text,
  changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_status_history_order_id_idx ON order_status_history (order_id);

-- Down Migration
DROP TABLE order_status_history;
