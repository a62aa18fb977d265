-- Up Migration
-- The W3C `tracestate` of the request that wrote the row, sent beside `traceparent` as an AMQP
-- header, so vendor trace state survives the outbox as it survives any other hop.
ALTER TABLE outbox ADD COLUMN tracestate text;

-- Down Migration
ALTER TABLE outbox DROP COLUMN tracestate;
