-- Up Migration
-- The consumer's inbox: one row per event id it has handled. The row is written in the same
-- transaction as the status change it caused, so a redelivered event finds its id here and
-- changes nothing. `ignored` records an event that arrived when the order had already left
-- PENDING (a late or contrary payment result).
CREATE TABLE processed_events (
  event_id uuid PRIMARY KEY,
  event_type text NOT NULL,
  order_id uuid,
  outcome text NOT NULL CHECK (outcome IN ('applied', 'ignored')),
  processed_at timestamptz NOT NULL DEFAULT now()
);
-- Retention deletes rows by age.
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
-- "Which events touched this order?" for operators.
CREATE INDEX processed_events_order_id_idx ON processed_events (order_id);

-- Down Migration
DROP TABLE processed_events;
