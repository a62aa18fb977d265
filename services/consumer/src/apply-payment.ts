import { sql } from 'kysely';
import { compileOnly, orderItemsOf, preparedQuery, type Db, type OrderJsonSource, type PaymentProcessed } from '@order-service/shared';

/** The status a payment result moves a PENDING order to. No other transition exists. */
export const TARGET_STATUS = { SUCCEEDED: 'PROCESSING', FAILED: 'FAILED' } as const;

export type ApplyResult =
  /** The order left PENDING; `version` is its new orders.version, `order` the order as it is now. */
  | { outcome: 'applied'; version: number; order: OrderJsonSource }
  /** This event id was handled before; nothing changed. `version` is the order's current one. */
  | { outcome: 'duplicate'; version: number }
  /** The order had already left PENDING (a late or contrary result); recorded, not applied. */
  | { outcome: 'ignored'; status: string }
  /** The payment's amount is not the order's total; nothing was written. */
  | { outcome: 'amount-mismatch'; orderTotal: string }
  /** No such order (yet); nothing was written. */
  | { outcome: 'unknown-order' };

/** Applies one event: the statement of applyPayments, for a batch of one. */
export async function applyPayment(db: Db, event: PaymentProcessed): Promise<ApplyResult> {
  const [result] = await applyPayments(db, [event]);
  return result!;
}

/**
 * Applies PaymentProcessed events exactly once, in one statement for one event or many
 * (data-modifying CTEs commit or fail together): per event it records the id in the inbox,
 * moves the order out of PENDING, bumps its version and updated_at, and writes the status
 * history row. An event whose amount differs from the order's total writes nothing. A changed order
 * comes back whole, with its items: the consumer caches it for the API's GET.
 *
 * Exactly once holds under races: the orders are locked first, in order_id order (two batches that
 * share orders wait for each other instead of deadlocking), and a racing statement re-checks
 * `status = 'PENDING'` on the row the first committed (READ COMMITTED re-evaluates it), so it
 * changes nothing and records its event as ignored. The same event delivered twice at once
 * conflicts on the inbox key and waits for the first to finish. The events of one call must name
 * distinct orders and ids (apply-batcher.ts groups them so); ids are lower case (the schema's).
 *
 * Written as SQL rather than with the query builder, sent prepared and planned once for all calls
 * (the consumer's sessions `planOnce`): parsing and planning it took Postgres about as long as
 * running it (pgbench, one event a call: 1.25 ms a call as an unnamed statement, 0.95 ms prepared
 * but planned each call, 0.55–0.65 ms planned once). Left to choose, Postgres planned it on every
 * call. Its one plan must read by key whatever the tables held when it was made, so the inbox is
 * probed by scalar subqueries (an EXISTS may be planned as a hash of the whole inbox, which a plan
 * made while the inbox was small keeps doing as it grows) and the orders by `= any` of the ids.
 * The text is compiled once and its parameters are written as `$1`…`$7`: a value interpolated into
 * the template would be numbered `$1` as well, so none may be.
 */
export const APPLY_PAYMENTS = sql`
    WITH input AS (
      SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[])
        AS i (event_id, order_id, event_type, to_status, payment_id, reason, amount)
    ), current AS (
      SELECT order_id, status, version, total_amount FROM orders
      WHERE order_id = any($2::uuid[])
      ORDER BY order_id
      FOR UPDATE
    ), payable AS (
      SELECT i.* FROM input i JOIN current c ON c.order_id = i.order_id AND c.total_amount = i.amount
    ), changed AS (
      UPDATE orders o
      SET status = p.to_status, version = o.version + 1, updated_at = greatest(now(), o.updated_at)
      FROM payable p
      WHERE o.order_id = p.order_id AND o.status = 'PENDING'
        AND (SELECT true FROM processed_events e WHERE e.event_id = p.event_id) IS NULL
      RETURNING p.event_id, o.order_id, o.customer_id, o.status, o.shipping_address, o.total_amount, o.version, o.created_at, o.updated_at
    ), recorded AS (
      INSERT INTO processed_events (event_id, event_type, order_id, outcome)
      SELECT p.event_id, p.event_type, p.order_id, CASE WHEN ch.event_id IS NULL THEN 'ignored' ELSE 'applied' END
      FROM payable p LEFT JOIN changed ch ON ch.event_id = p.event_id
      ON CONFLICT (event_id) DO NOTHING
      RETURNING event_id, outcome
    ), history AS (
      INSERT INTO order_status_history (order_id, from_status, to_status, event_id, payment_id, reason)
      SELECT p.order_id, 'PENDING', p.to_status, p.event_id, p.payment_id, p.reason
      FROM changed ch JOIN payable p ON p.event_id = ch.event_id
    )
    SELECT i.event_id, i.order_id, r.outcome, ch.version AS new_version, ch.customer_id, ch.status AS new_status, ch.shipping_address,
           ch.total_amount, ch.created_at, ch.updated_at,
           CASE WHEN ch.event_id IS NOT NULL THEN ${orderItemsOf(sql.ref('ch.order_id'))} END AS items,
           c.status AS current_status, c.version AS current_version, c.total_amount::text AS order_total,
           c.total_amount = i.amount AS amount_matches,
           (SELECT true FROM processed_events e WHERE e.event_id = i.event_id) IS NOT NULL AS seen_before
    FROM input i
    LEFT JOIN recorded r ON r.event_id = i.event_id
    LEFT JOIN changed ch ON ch.event_id = i.event_id
    LEFT JOIN current c ON c.order_id = i.order_id`.compile(compileOnly).sql;

/** Applies `events` in one statement (see APPLY_PAYMENTS); each event's result, in the same order. */
export async function applyPayments(db: Db, events: PaymentProcessed[]): Promise<ApplyResult[]> {
  const rows = await preparedQuery<ResultRow>(db, 'apply-payments', APPLY_PAYMENTS, [
    events.map((e) => e.id),
    events.map((e) => e.data.order_id),
    events.map((e) => e.type),
    events.map((e) => TARGET_STATUS[e.data.status]),
    events.map((e) => e.data.payment_id),
    events.map((e) => e.data.reason ?? null),
    events.map((e) => e.data.amount.toFixed(2)),
  ]);
  const byId = new Map(rows.map((row) => [row.event_id, row]));
  return events.map((event) => toResult(byId.get(event.id)!));
}

interface ResultRow {
  event_id: string;
  order_id: string;
  outcome: 'applied' | 'ignored' | null;
  new_version: number | null;
  /** The changed order (null unless this event changed it). */
  customer_id: string | null;
  new_status: string | null;
  shipping_address: string | null;
  total_amount: string | null;
  created_at: Date | null;
  updated_at: Date | null;
  items: OrderJsonSource['items'] | null;
  current_status: string | null;
  current_version: number | null;
  order_total: string | null;
  amount_matches: boolean | null;
  /** In the inbox before this statement (its own inserts are not visible to it). */
  seen_before: boolean;
}

function toResult(row: ResultRow): ApplyResult {
  if (row.current_status === null) return { outcome: 'unknown-order' };
  if (row.outcome === 'applied' && row.new_version !== null) {
    const order: OrderJsonSource = {
      order_id: row.order_id,
      customer_id: row.customer_id!,
      status: row.new_status!,
      shipping_address: row.shipping_address!,
      total_amount: row.total_amount!,
      created_at: row.created_at!,
      updated_at: row.updated_at!,
      items: row.items!,
    };
    return { outcome: 'applied', version: row.new_version, order };
  }
  if (row.outcome === 'ignored') return { outcome: 'ignored', status: row.current_status };
  // An id already handled is a duplicate whatever it says now; only a new event can mismatch.
  if (!row.seen_before && row.amount_matches === false) return { outcome: 'amount-mismatch', orderTotal: row.order_total ?? '' };
  return { outcome: 'duplicate', version: row.current_version ?? 1 };
}
