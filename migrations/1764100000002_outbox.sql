-- Up Migration
-- The transactional outbox. Rows are written in the same transaction as the order and
-- published by the relay. There is no "last id seen" cursor: a relay claims any row that is
-- unpublished, due and not leased, so a row that commits late is still found.
CREATE TABLE outbox (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  event_id uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  -- The aggregate (order) the event belongs to; events of one aggregate are published in id order.
  aggregate_id uuid NOT NULL,
  exchange text NOT NULL,
  routing_key text NOT NULL,
  -- The full CloudEvent, byte for byte as it goes on the wire (json keeps the text as written).
  payload json NOT NULL,
  -- W3C trace context of the request that wrote the row, carried as an AMQP header.
  traceparent text,
  created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT '-infinity',
  -- A claim is a lease: the relay that holds lease_token may publish the row until locked_until.
  -- Marking requires the same token (a fencing token), so a relay whose lease expired cannot
  -- overwrite the work of the relay that took the row over.
  locked_until timestamptz,
  lease_token uuid,
  published_at timestamptz,
  -- Parked after too many failed attempts: kept, visible and re-drivable, never dropped.
  parked_at timestamptz,
  last_error text
);

-- The relay's claim query walks this index: only pending rows are in it, so it stays small.
CREATE INDEX outbox_pending_idx ON outbox (id) WHERE published_at IS NULL AND parked_at IS NULL;
-- Per-aggregate ordering check: "is there an earlier pending row of this order?"
CREATE INDEX outbox_pending_aggregate_idx ON outbox (aggregate_id, id)
  WHERE published_at IS NULL AND parked_at IS NULL;
-- Retention deletes published rows by age.
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Wake listening relays when outbox rows commit. NOTIFY is transactional: it is delivered only
-- at commit, and never for a rolled-back transaction. A statement-level trigger means every
-- writer (the API, a redrive) wakes the relay without having to remember to.
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF parked_at ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

-- Down Migration
DROP TABLE outbox;
DROP FUNCTION outbox_notify();
