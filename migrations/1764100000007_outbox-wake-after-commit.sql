-- Up Migration
-- The relay is no longer woken by a NOTIFY inside the writing transaction. A transaction that
-- has sent a NOTIFY takes a cluster-wide lock at commit and holds it through the WAL flush, so
-- every order committed one at a time behind every other. Writers now send a coalesced hint
-- after they commit (see packages/shared/src/db/outbox-hint.ts), and the relay polls fast while
-- it finds work; a lost hint costs latency, never an event.
DROP TRIGGER outbox_notify ON outbox;
DROP FUNCTION outbox_notify();

-- Down Migration
CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox', '');
  RETURN NULL;
END;
$$;
CREATE TRIGGER outbox_notify AFTER INSERT OR UPDATE OF parked_at ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
