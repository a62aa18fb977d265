-- Up Migration
-- Every event written to the outbox, published or not: the rows still in the outbox (pending or
-- parked) and the records of those published (outbox_published, without their payload). One
-- statement over it reads both tables in one snapshot, so a row being published meanwhile is seen
-- exactly once, in one state or the other. A condition on the view reaches both tables' indexes.
CREATE VIEW outbox_events AS
  SELECT id, event_id, event_type, aggregate_id, exchange, routing_key, traceparent, tracestate, created_at, attempts,
         next_attempt_at, locked_until, parked_at, last_error, NULL::timestamptz AS published_at, payload
    FROM outbox
  UNION ALL
  SELECT id, event_id, event_type, aggregate_id, exchange, routing_key, traceparent, tracestate, created_at, attempts,
         NULL, NULL, NULL, NULL, published_at, NULL
    FROM outbox_published;

-- Down Migration
DROP VIEW outbox_events;
