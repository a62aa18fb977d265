import { sql } from 'kysely';
import { Topology } from '@order-service/shared';
import { waitFor } from '@order-service/testkit';
import { AUDIT_QUEUE } from './audit';
import type { FaultSystem } from './system';

/** The four numbers of the issue. lost, unexpected and doubleApplied must be 0. */
export interface Ledger {
  /** Committed orders whose OrderCreated never reached the audit queue. */
  lost: number;
  /** Audited events that belong to no committed order (or no outbox row). */
  unexpected: number;
  /** Extra copies on the wire: allowed (at least once), reported. */
  duplicated: number;
  /** Orders whose payment was applied more than once (status history or inbox). */
  doubleApplied: number;
  /** Orders the ledger covered. */
  orders: number;
}

/** Orders already accounted for by an earlier scenario, so each scenario reports its own. */
export type Mark = ReadonlySet<string>;

export async function mark(system: FaultSystem): Promise<Mark> {
  const rows = await system.database.db.selectFrom('orders').select('order_id').execute();
  return new Set(rows.map((row) => row.order_id));
}

/** The four numbers for the orders committed since `since` (unexpected is over the whole system). */
export async function ledger(system: FaultSystem, since: Mark = new Set()): Promise<Ledger> {
  const { rows } = await sql<{ order_id: string; event_id: string | null; history: number; applied: number }>`
    WITH events AS (SELECT DISTINCT ON (aggregate_id) aggregate_id AS order_id, event_id FROM outbox_events ORDER BY aggregate_id, id),
         history AS (SELECT order_id, count(*)::int AS n FROM order_status_history GROUP BY order_id),
         applied AS (SELECT order_id, count(*)::int AS n FROM processed_events WHERE outcome = 'applied' GROUP BY order_id)
    SELECT o.order_id, events.event_id, coalesce(history.n, 0) AS history, coalesce(applied.n, 0) AS applied
      FROM orders o
      LEFT JOIN events USING (order_id)
      LEFT JOIN history USING (order_id)
      LEFT JOIN applied USING (order_id)`.execute(system.database.db);
  const events = system.audit.events;
  const committedEvents = new Map(rows.map((row) => [row.event_id, row.order_id]));
  let lost = 0;
  let duplicated = 0;
  let doubleApplied = 0;
  let orders = 0;
  for (const row of rows) {
    if (since.has(row.order_id)) continue;
    orders += 1;
    const seen = row.event_id === null ? undefined : events.get(row.event_id);
    if (!seen) lost += 1;
    else duplicated += seen.deliveries - 1;
    if (row.history > 1 || row.applied > 1) doubleApplied += 1;
  }
  let unexpected = 0;
  for (const [eventId, event] of events) {
    if (committedEvents.get(eventId) !== event.orderId) unexpected += 1;
  }
  return { lost, unexpected, duplicated, doubleApplied, orders };
}

export function formatLedger(scenario: string, numbers: Ledger): string {
  return (
    `scenario=${scenario} lost=${numbers.lost} unexpected=${numbers.unexpected} ` +
    `duplicated=${numbers.duplicated} double_applied=${numbers.doubleApplied} orders=${numbers.orders}`
  );
}

/** Messages ready in a queue of the system's vhost (0 when it does not exist). */
async function ready(system: FaultSystem, queue: string): Promise<number> {
  return (await system.admin.queueDeclare({ queue, passive: true })).messageCount;
}

/**
 * State of the pipeline that must reach zero (DLQ: its expected count) once everything is healed.
 * Orders are counted from `since` on, so an order an earlier scenario failed to deliver fails
 * that scenario, not every later one; the outbox and the queues are checked as a whole.
 */
let lastUnpaid: string[] = [];

async function backlog(system: FaultSystem, since: Mark) {
  const db = system.database.db;
  const outbox = await db
    .selectFrom('outbox')
    .select([
      sql<number>`count(*) FILTER (WHERE parked_at IS NULL)::int`.as('pending'),
      sql<number>`count(*) FILTER (WHERE parked_at IS NOT NULL)::int`.as('parked'),
    ])
    .executeTakeFirstOrThrow();
  const pending = await db.selectFrom('orders').select('order_id').where('status', '=', 'PENDING').execute();
  const unpaidIds = pending.map((order) => order.order_id).filter((id) => !since.has(id));
  const unpaid = unpaidIds.length;
  lastUnpaid = unpaidIds.slice(0, 5);
  const unseen = (await ledger(system, since)).lost;
  const queues = {
    simulator: await ready(system, Topology.simulatorQueue),
    payments: await ready(system, Topology.paymentQueue),
    audit: await ready(system, AUDIT_QUEUE),
    unroutable: await ready(system, Topology.ordersUnroutableQueue),
    dlq: await ready(system, Topology.paymentDlq),
  };
  return { ...outbox, unpaid, unseen, ...queues };
}

/** `rabbitmqctl list_queues` counts ready and unacknowledged messages, which a passive declare does not. */
async function brokerCounts(system: FaultSystem): Promise<Map<string, number>> {
  const text = await system.ctl('list_queues', '-p', system.vhost.name, '--no-table-headers', 'name', 'messages');
  return new Map(
    text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, count] = line.trim().split(/\s+/);
        return [name!, Number(count)] as const;
      }),
  );
}

/**
 * Waits until the system is drained: no pending or parked outbox row, every order committed since
 * `since` paid and audited, and every queue empty but the DLQ, which holds `expectedDlq`. Fails
 * with the state it was stuck in.
 */
export async function drained(
  system: FaultSystem,
  { expectedDlq = 0, timeoutMs = 60_000, since = new Set<string>() as Mark } = {},
): Promise<void> {
  let last: Awaited<ReturnType<typeof backlog>> | undefined;
  const settled = () => {
    const state = last!;
    const { dlq, ...rest } = state;
    return Object.values(rest).every((count) => count === 0) && dlq === expectedDlq;
  };
  try {
    await waitFor(
      async () => {
        last = await backlog(system, since);
        if (!settled()) return false;
        // Unacknowledged messages are invisible to a passive declare; the broker's own count is not.
        const counts = await brokerCounts(system);
        return [...counts].every(([queue, count]) => count === (queue === Topology.paymentDlq ? expectedDlq : 0));
      },
      { timeoutMs, intervalMs: 300, what: 'the system to drain' },
    );
  } catch (error) {
    // Which unpaid orders, and whether their event reached the audit queue, tells relay trouble from consumer trouble.
    const audited = new Set([...system.audit.events.values()].map((event) => event.orderId));
    const unpaid = lastUnpaid.map((id) => `${id}${audited.has(id) ? ' (event delivered)' : ' (event not seen)'}`);
    throw new Error(`${(error as Error).message}; stuck at ${JSON.stringify(last)}; unpaid: ${unpaid.join(', ') || 'none'}`, {
      cause: error,
    });
  }
}

/** Sessions of the system's database idle inside a transaction for over `seconds`. */
export async function idleTransactions(system: FaultSystem, seconds = 5): Promise<Array<{ application_name: string; query: string }>> {
  const { rows } = await sql<{ application_name: string; query: string }>`
    SELECT application_name, left(query, 200) AS query FROM pg_stat_activity
     WHERE datname = current_database() AND state LIKE 'idle in transaction%'
       AND application_name LIKE 'order-service%'
       AND state_change < now() - make_interval(secs => ${seconds})`.execute(system.database.db);
  return rows;
}
