import { sql } from 'kysely';
import type { Db } from '@order-service/shared';

/** An outbox row as the relay publishes it; `body` is the payload text exactly as stored. */
export interface ClaimedRow {
  id: string;
  event_id: string;
  event_type: string;
  aggregate_id: string;
  exchange: string;
  routing_key: string;
  traceparent: string | null;
  created_at: Date;
  /** Attempts including this one. */
  attempts: number;
  body: string;
}

/** A row whose publish failed this time, with when to try it again. */
export interface FailedRow {
  id: string;
  delayMs: number;
  error: string;
}

/**
 * Claims up to `size` due rows under a lease identified by `token`, in one short statement
 * (no transaction stays open while the batch is on the wire). There is no "last id" cursor, so a
 * row that commits late is found by the next claim.
 *
 * First the first due, unleased rows are locked with SKIP LOCKED (other relays' rows are passed
 * over at no cost), a few more than `size`; then a row is kept only if no earlier row of the same
 * order is still pending, so the events of an order go out in the order they were written. The
 * order check runs only on the locked rows, as one index probe each (a scalar subquery: NOT
 * EXISTS may be planned as a hash join over the whole table), so its cost never depends on how
 * many rows other relays hold or how large the table is.
 */
export async function claimBatch(db: Db, size: number, leaseMs: number, token: string): Promise<ClaimedRow[]> {
  const rows = await db
    .with(
      (cte) => cte('candidates').materialized(),
      (qb) =>
        qb
          .selectFrom('outbox as o')
          .select(['o.id', 'o.aggregate_id'])
          .where('o.published_at', 'is', null)
          .where('o.parked_at', 'is', null)
          .where('o.next_attempt_at', '<=', sql<Date>`now()`)
          .where((w) => w.or([w('o.locked_until', 'is', null), w('o.locked_until', '<', sql<Date>`now()`)]))
          .orderBy('o.id')
          // Room for rows that turn out to wait behind an earlier row of their order.
          .limit(size + Math.min(size, 64))
          .forUpdate()
          .skipLocked(),
    )
    .updateTable('outbox')
    .set((eb) => ({
      lease_token: token,
      locked_until: sql<Date>`now() + ${leaseMs} * interval '1 millisecond'`,
      attempts: eb('attempts', '+', 1),
    }))
    // `= ANY(ARRAY(...))` updates by primary key; `IN (...)` may be planned as a join that scans
    // the whole table, published rows included.
    .where('id', '=', (eb) => {
      const claimable = eb
        .selectFrom('candidates as c')
        .select('c.id')
        .where((w) => {
          const earlierPending = w
            .selectFrom('outbox as earlier')
            .select('earlier.id')
            .whereRef('earlier.aggregate_id', '=', 'c.aggregate_id')
            .whereRef('earlier.id', '<', 'c.id')
            .where('earlier.published_at', 'is', null)
            .where('earlier.parked_at', 'is', null)
            .limit(1);
          return sql<boolean>`(${earlierPending}) IS NULL`;
        })
        .orderBy('c.id')
        .limit(size);
      return sql<string>`any(array(${claimable}))`;
    })
    .returning([
      'id',
      'event_id',
      'event_type',
      'aggregate_id',
      'exchange',
      'routing_key',
      'traceparent',
      'created_at',
      'attempts',
      sql<string>`payload::text`.as('body'),
    ])
    .execute();
  // RETURNING has no defined order; the batch goes on the wire in id (write) order. Ids are
  // decimal strings without leading zeros: a shorter one is smaller, equal lengths compare as text.
  return rows
    .map((row) => ({ ...row, id: String(row.id) }))
    .sort((a, b) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * Marks confirmed rows published in one statement. The lease token fences it: a relay whose
 * lease expired and was taken over marks nothing. Returns how many rows were marked.
 *
 * This and the other writes after a claim keep `lease_token` (only `locked_until` is cleared, and
 * that is what claims look at), so repeating one whose first try committed but whose answer was
 * lost (a dropped connection) matches the same rows again instead of nothing.
 */
export async function markPublished(db: Db, ids: string[], token: string): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('outbox')
    .set({ published_at: sql<Date>`coalesce(published_at, now())`, locked_until: null })
    .where('id', '=', sql<string>`any(${ids}::bigint[])`)
    .where('lease_token', '=', token)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Releases failed rows for another attempt after each row's own delay, keeping the error. */
export async function scheduleRetry(db: Db, rows: FailedRow[], token: string): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await sql`
    UPDATE outbox o
       SET next_attempt_at = now() + f.delay_ms * interval '1 millisecond',
           last_error = f.error,
           locked_until = NULL
      FROM unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.delayMs)}::int[], ${rows.map((r) => r.error)}::text[])
           AS f(id, delay_ms, error)
     WHERE o.id = f.id AND o.lease_token = ${token}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Parks rows that used up their attempts: kept with their last error, out of the claim path. */
export async function parkRows(db: Db, rows: Array<Pick<FailedRow, 'id' | 'error'>>, token: string): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await sql`
    UPDATE outbox o
       SET parked_at = coalesce(o.parked_at, now()), last_error = f.error, locked_until = NULL
      FROM unnest(${rows.map((r) => r.id)}::bigint[], ${rows.map((r) => r.error)}::text[]) AS f(id, error)
     WHERE o.id = f.id AND o.lease_token = ${token}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** Deletes up to `limit` rows published more than `retentionMs` ago; returns how many. */
export async function deletePublishedBefore(db: Db, retentionMs: number, limit: number): Promise<number> {
  const result = await db
    .deleteFrom('outbox')
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('outbox')
        .select('id')
        .where('published_at', '<', sql<Date>`now() - ${retentionMs} * interval '1 millisecond'`)
        .limit(limit),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
