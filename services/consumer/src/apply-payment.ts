import { sql } from 'kysely';
import type { Db, PaymentProcessed } from '@order-service/shared';

/** The status a payment result moves a PENDING order to. No other transition exists. */
export const TARGET_STATUS = { SUCCEEDED: 'PROCESSING', FAILED: 'FAILED' } as const;

export type ApplyResult =
  /** The order left PENDING; `version` is its new orders.version. */
  | { outcome: 'applied'; version: number; orderCreatedAt: Date }
  /** This event id was handled before; nothing changed. `version` is the order's current one. */
  | { outcome: 'duplicate'; version: number }
  /** The order had already left PENDING (a late or contrary result); recorded, not applied. */
  | { outcome: 'ignored'; status: string }
  /** No such order (yet); nothing was written. */
  | { outcome: 'unknown-order' };

/**
 * Applies one PaymentProcessed event exactly once, in a single statement (data-modifying CTEs
 * commit or fail together): it records the event id in the inbox, moves the order out of PENDING,
 * bumps its version and updated_at, and writes the status history row.
 *
 * Exactly once holds under races: the UPDATE locks the order row, and a racing transaction
 * re-checks `status = 'PENDING'` after the first commits (READ COMMITTED re-evaluates the
 * condition on the new row), so it changes nothing and records its event as ignored. The same
 * event delivered twice at once conflicts on the inbox key and waits for the first to finish.
 */
export async function applyPayment(db: Db, event: PaymentProcessed): Promise<ApplyResult> {
  const { order_id: orderId, payment_id: paymentId, status, reason } = event.data;
  const toStatus = TARGET_STATUS[status];
  // Written as SQL rather than with the query builder: it runs once per event, and building this
  // statement with Kysely's builder cost more CPU than the rest of the message handling together.
  const { rows } = await sql<ResultRow>`
    WITH current AS (
      SELECT status, version FROM orders WHERE order_id = ${orderId}::uuid
    ), changed AS (
      UPDATE orders
      SET status = ${toStatus}, version = version + 1, updated_at = greatest(now(), updated_at)
      WHERE order_id = ${orderId}::uuid AND status = 'PENDING'
        AND NOT EXISTS (SELECT 1 FROM processed_events WHERE event_id = ${event.id}::uuid)
      RETURNING version, created_at
    ), recorded AS (
      INSERT INTO processed_events (event_id, event_type, order_id, outcome)
      SELECT ${event.id}::uuid, ${event.type}, ${orderId}::uuid,
             CASE WHEN EXISTS (SELECT 1 FROM changed) THEN 'applied' ELSE 'ignored' END
      FROM current
      ON CONFLICT (event_id) DO NOTHING
      RETURNING outcome
    ), history AS (
      INSERT INTO order_status_history (order_id, from_status, to_status, event_id, payment_id, reason)
      SELECT ${orderId}::uuid, 'PENDING', ${toStatus}, ${event.id}::uuid, ${paymentId}, ${reason ?? null}::text
      FROM changed
    )
    SELECT (SELECT outcome FROM recorded) AS outcome,
           (SELECT version FROM changed) AS new_version,
           (SELECT created_at FROM changed) AS created_at,
           (SELECT status FROM current) AS current_status,
           (SELECT version FROM current) AS current_version`.execute(db);
  return toResult(rows[0]!);
}

/**
 * Applies several events in one statement: the same writes as applyPayment, per event, for a
 * fraction of the round trips and commits. The events must name distinct orders (and ids); the
 * caller groups them so (see apply-batcher.ts). Rows are locked in order_id order first, so two
 * batches that share orders wait for each other instead of deadlocking.
 */
export async function applyPayments(db: Db, events: PaymentProcessed[]): Promise<ApplyResult[]> {
  const { rows } = await sql<ResultRow & { event_id: string }>`
    WITH input AS (
      SELECT * FROM unnest(
        ${events.map((e) => e.id)}::uuid[], ${events.map((e) => e.data.order_id)}::uuid[],
        ${events.map((e) => e.type)}::text[], ${events.map((e) => TARGET_STATUS[e.data.status])}::text[],
        ${events.map((e) => e.data.payment_id)}::text[], ${events.map((e) => e.data.reason ?? null)}::text[]
      ) AS i (event_id, order_id, event_type, to_status, payment_id, reason)
    ), current AS (
      SELECT order_id, status, version FROM orders
      WHERE order_id IN (SELECT order_id FROM input)
      ORDER BY order_id
      FOR UPDATE
    ), changed AS (
      UPDATE orders o
      SET status = i.to_status, version = o.version + 1, updated_at = greatest(now(), o.updated_at)
      FROM input i JOIN current c ON c.order_id = i.order_id
      WHERE o.order_id = i.order_id AND o.status = 'PENDING'
        AND NOT EXISTS (SELECT 1 FROM processed_events p WHERE p.event_id = i.event_id)
      RETURNING i.event_id, o.version, o.created_at
    ), recorded AS (
      INSERT INTO processed_events (event_id, event_type, order_id, outcome)
      SELECT i.event_id, i.event_type, i.order_id, CASE WHEN ch.event_id IS NULL THEN 'ignored' ELSE 'applied' END
      FROM input i JOIN current c ON c.order_id = i.order_id LEFT JOIN changed ch ON ch.event_id = i.event_id
      ON CONFLICT (event_id) DO NOTHING
      RETURNING event_id, outcome
    ), history AS (
      INSERT INTO order_status_history (order_id, from_status, to_status, event_id, payment_id, reason)
      SELECT i.order_id, 'PENDING', i.to_status, i.event_id, i.payment_id, i.reason
      FROM changed ch JOIN input i ON i.event_id = ch.event_id
    )
    SELECT i.event_id, r.outcome, ch.version AS new_version, ch.created_at,
           c.status AS current_status, c.version AS current_version
    FROM input i
    LEFT JOIN recorded r ON r.event_id = i.event_id
    LEFT JOIN changed ch ON ch.event_id = i.event_id
    LEFT JOIN current c ON c.order_id = i.order_id`.execute(db);
  const byId = new Map(rows.map((row) => [row.event_id, row]));
  return events.map((event) => toResult(byId.get(event.id)!));
}

interface ResultRow {
  outcome: 'applied' | 'ignored' | null;
  new_version: number | null;
  created_at: Date | null;
  current_status: string | null;
  current_version: number | null;
}

function toResult(row: ResultRow): ApplyResult {
  if (row.current_status === null) return { outcome: 'unknown-order' };
  if (row.outcome === 'applied' && row.new_version !== null && row.created_at !== null) {
    return { outcome: 'applied', version: row.new_version, orderCreatedAt: row.created_at };
  }
  if (row.outcome === 'ignored') return { outcome: 'ignored', status: row.current_status };
  return { outcome: 'duplicate', version: row.current_version ?? 1 };
}
