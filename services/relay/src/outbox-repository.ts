import { sql, type Transaction } from 'kysely';
import type { DB, Db } from '@order-service/shared';

/** An outbox row as the relay publishes it; `body` is the payload text exactly as stored. */
export interface ClaimedRow {
  id: string;
  event_id: string;
  event_type: string;
  aggregate_id: string;
  exchange: string;
  routing_key: string;
  traceparent: string | null;
  tracestate: string | null;
  /** The row's created_at in ms since the epoch: the envelope's timestamp and the commit-to-confirm time need only the number. */
  created_ms: number;
  /** Attempts including this one. */
  attempts: number;
  body: string;
}

/** The rows a claim locked, and the lowest id among the rows it looked at (undefined when it locked none). */
export interface Claim {
  rows: ClaimedRow[];
  firstCandidateId?: string;
}

/**
 * Claims up to `size` due rows with ids above `after` by locking them in the caller's transaction,
 * which stays open while the batch is on the wire and ends with `settleRows`: the lock is the
 * lease. Another relay's SKIP LOCKED passes over them at no cost; a relay that dies (or hangs past
 * the pool's idle_in_transaction_session_timeout) loses its transaction, and its rows are free
 * again at once. Locking writes no new row version, so a published row costs one write: the settle
 * deletes it (and records it in outbox_published).
 *
 * `after` lets a busy relay start where its last batch started instead of at the table's first
 * pending row: every published row leaves a dead entry in the pending index until vacuum removes
 * it, and while a long transaction elsewhere holds vacuum back, a scan from the start walks all of
 * them (40,000 dead entries made a claim of 5 rows take 7 ms and 3,755 buffer reads here). The
 * relay still claims from the start (`after` = 0) at least once per poll interval, which finds
 * what lies below: a row that committed late, a retry come due, a row another relay let go.
 *
 * First the first due rows are locked, a few more than `size`; then a row is kept only if no
 * earlier row of the same order is still pending (locked by another relay counts), so the events
 * of an order go out in the order they were written. The order check runs only on the locked rows,
 * as one index probe each (a scalar subquery: NOT EXISTS may be planned as a hash join over the
 * whole table), so its cost never depends on how many rows other relays hold or how large the
 * table is. Rows leased by a relay of the earlier design (`locked_until`) are respected.
 */
export async function claimBatch(trx: Transaction<DB>, size: number, after = '0'): Promise<Claim> {
  const { rows } = await sql<ClaimedRow & { first_candidate: string }>`
    WITH candidates AS MATERIALIZED (
      SELECT id, aggregate_id FROM outbox
      WHERE parked_at IS NULL AND next_attempt_at <= now()
        AND (locked_until IS NULL OR locked_until < now()) AND id > ${after}::bigint
      ORDER BY id
      -- Room for rows that turn out to wait behind an earlier row of their order.
      LIMIT ${size + Math.min(size, 64)}
      FOR UPDATE SKIP LOCKED
    )
    -- created_at as a number: parsing a timestamp for every row cost a relay draining a backlog 3 % of its CPU.
    SELECT id::text AS id, event_id, event_type, aggregate_id, exchange, routing_key, traceparent, tracestate,
           (extract(epoch FROM created_at) * 1000)::float8 AS created_ms,
           attempts + 1 AS attempts, payload::text AS body, (SELECT min(id) FROM candidates)::text AS first_candidate
    FROM outbox
    -- \`= ANY(ARRAY(...))\` reads by primary key; \`IN (...)\` may be planned as a join over the whole table.
    WHERE id = any(array(
      SELECT c.id FROM candidates c
      WHERE (SELECT earlier.id FROM outbox earlier
             WHERE earlier.aggregate_id = c.aggregate_id AND earlier.id < c.id
               AND earlier.parked_at IS NULL
             LIMIT 1) IS NULL
      ORDER BY c.id
      LIMIT ${size}))
    ORDER BY id`.execute(trx);
  // The rows keep their first_candidate: copying a thousand rows without it would cost more than it carries.
  return { rows, firstCandidateId: rows[0]?.first_candidate };
}

/** How one claimed row ends: published, or failed and retried after `delayMs`, or parked. */
export type RowOutcome = { id: string; published: true } | { id: string; published: false; error: string; delayMs?: number; park: boolean };

/**
 * Writes the outcome of every claimed row, in the claim's transaction: published (only rows the
 * broker confirmed), back for a retry after its delay, or parked. `attempts` counts publishes
 * that got an answer. Returns how many rows it settled.
 */
export async function settleRows(trx: Transaction<DB>, outcomes: RowOutcome[]): Promise<number> {
  const published = outcomes.flatMap((o) => (o.published ? [o.id] : []));
  const failed = outcomes.flatMap((o) => (o.published ? [] : [o]));
  return (await removePublished(trx, published)) + (await scheduleFailed(trx, failed));
}

/**
 * A published row leaves the outbox, recorded in outbox_published: a delete writes no new version
 * of the row (marking it did, payload and all), and the record is everything but the payload, a tenth of the row.
 */
async function removePublished(trx: Transaction<DB>, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await sql`
    WITH published AS (
      DELETE FROM outbox WHERE id = any(${ids}::bigint[])
      RETURNING id, event_id, event_type, aggregate_id, exchange, routing_key, traceparent, tracestate, created_at, attempts
    )
    INSERT INTO outbox_published (id, event_id, event_type, aggregate_id, exchange, routing_key, traceparent, tracestate, created_at, attempts)
    SELECT id, event_id, event_type, aggregate_id, exchange, routing_key, traceparent, tracestate, created_at, attempts + 1 FROM published`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/** Rows whose publish failed: due again after their delay, or parked after their last attempt. */
async function scheduleFailed(trx: Transaction<DB>, failed: Array<Extract<RowOutcome, { published: false }>>): Promise<number> {
  if (failed.length === 0) return 0;
  const result = await sql`
    UPDATE outbox o
       SET attempts = o.attempts + 1,
           next_attempt_at = CASE WHEN f.delay_ms IS NULL THEN o.next_attempt_at ELSE now() + f.delay_ms * interval '1 millisecond' END,
           parked_at = CASE WHEN f.park THEN coalesce(o.parked_at, now()) ELSE o.parked_at END,
           last_error = f.error,
           locked_until = NULL
      FROM unnest(
             ${failed.map((o) => o.id)}::bigint[], ${failed.map((o) => o.park)}::boolean[],
             ${failed.map((o) => o.delayMs ?? null)}::int[], ${failed.map((o) => o.error)}::text[]
           ) AS f(id, park, delay_ms, error)
     WHERE o.id = f.id`.execute(trx);
  return Number(result.numAffectedRows ?? 0);
}

/** Deletes up to `limit` records of rows published more than `retentionMs` ago; returns how many. */
export async function deletePublishedBefore(db: Db, retentionMs: number, limit: number): Promise<number> {
  const result = await sql`
    DELETE FROM outbox_published WHERE ctid = any(array(
      SELECT ctid FROM outbox_published
      WHERE published_at < now() - ${retentionMs} * interval '1 millisecond'
      LIMIT ${limit}))`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}
