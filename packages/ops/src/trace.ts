import { sql } from 'kysely';
import { findOrderWithItems } from '@order-service/shared/db/find-order';
import type { Db } from '@order-service/shared/db/index';
import { decodeCacheEntry, orderCacheKey } from '@order-service/shared/order-cache';
import type { Clients } from './clients';
import { ExitCode, UsageError, type CommandResult } from './exit-codes';
import { clip, describeError, fields, section, table, timestamp, type Cell } from './format';

const UUID = /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i;

/**
 * The order's outbox rows: those still in the outbox (pending, in flight or parked) and the records
 * of those published (outbox_published, until retention), in the order they were written. The
 * outbox_events view reads both in one snapshot: a row published meanwhile is shown once.
 */
async function readOutboxRows(db: Db, orderId: string) {
  const { rows } = await sql<{
    id: string;
    event_id: string;
    event_type: string;
    exchange: string;
    routing_key: string;
    traceparent: string | null;
    created_at: Date;
    attempts: number;
    next_attempt_at: Date | null;
    locked_until: Date | null;
    published_at: Date | null;
    parked_at: Date | null;
    last_error: string | null;
  }>`
    SELECT id::text AS id, event_id, event_type, exchange, routing_key, traceparent, created_at, attempts,
           next_attempt_at, locked_until, published_at, parked_at, last_error
      FROM outbox_events WHERE aggregate_id = ${orderId}
     ORDER BY outbox_events.id`.execute(db);
  return rows;
}

const readHistory = (db: Db, orderId: string) =>
  db
    .selectFrom('order_status_history')
    .select(['from_status', 'to_status', 'event_id', 'payment_id', 'reason', 'changed_at'])
    .where('order_id', '=', orderId)
    .orderBy('changed_at')
    .orderBy('id')
    .execute();

const readInbox = (db: Db, orderId: string) =>
  db
    .selectFrom('processed_events')
    .select(['event_id', 'event_type', 'outcome', 'processed_at'])
    .where('order_id', '=', orderId)
    .orderBy('processed_at')
    .execute();

/** What Redis holds for the order now: `<version>|<json>`, where an empty json is a tombstone. */
async function readCache(clients: Clients, orderId: string) {
  try {
    const redis = await clients.redis();
    const key = orderCacheKey(orderId);
    const [entry, ttl] = await Promise.all([redis.get(key), redis.ttl(key)]);
    if (entry === null) return { key, state: 'miss' as const };
    const { version, body } = decodeCacheEntry(entry);
    if (body === null) return { key, state: 'tombstone' as const, version, ttl_seconds: ttl };
    let status: unknown;
    try {
      status = (JSON.parse(body) as { status?: unknown }).status;
    } catch {
      status = undefined;
    }
    return { key, state: 'cached' as const, version, ttl_seconds: ttl, status: typeof status === 'string' ? status : null };
  } catch (error) {
    return { key: orderCacheKey(orderId), state: 'unavailable' as const, error: describeError(error) };
  }
}

/**
 * `ops trace <order_id>`: the order's story in one view, from Postgres (the order, its outbox
 * rows, its status history and its inbox entries) and Redis (the cached copy). Exits 3 when
 * there is no such order; whatever else mentions the id is still shown.
 */
export async function traceOrder(clients: Clients, orderId: string): Promise<CommandResult> {
  if (!UUID.test(orderId)) throw new UsageError(`not an order id (a UUID): ${orderId}`);
  const db = clients.db();
  const [order, outbox, history, inbox, cache] = await Promise.all([
    findOrderWithItems(db, orderId),
    readOutboxRows(db, orderId),
    readHistory(db, orderId),
    readInbox(db, orderId),
    readCache(clients, orderId),
  ]);
  const data = {
    order_id: orderId,
    found: order !== undefined,
    order: order ?? null,
    outbox,
    status_history: history,
    inbox,
    cache: {
      ...cache,
      // A cached body older than the order means a missed invalidation; a tombstone is fine.
      stale: order !== undefined && 'version' in cache && cache.state === 'cached' && cache.version < order.version,
    },
  };
  return { exitCode: order ? ExitCode.ok : ExitCode.notFound, data, text: render(data) };
}

function timeline(data: {
  order: Awaited<ReturnType<typeof findOrderWithItems>> | null;
  outbox: Awaited<ReturnType<typeof readOutboxRows>>;
  status_history: Awaited<ReturnType<typeof readHistory>>;
  inbox: Awaited<ReturnType<typeof readInbox>>;
}): Array<[Date, string]> {
  const events: Array<[Date, string]> = [];
  if (data.order) events.push([data.order.created_at, `order placed: ${data.order.items.length} item(s), total ${data.order.total_amount}`]);
  for (const row of data.outbox) {
    events.push([row.created_at, `${row.event_type} ${row.event_id} written to the outbox (row ${row.id})`]);
    if (row.published_at) events.push([row.published_at, `${row.event_type} confirmed by the broker after ${row.attempts} attempt(s)`]);
    if (row.parked_at) events.push([row.parked_at, `${row.event_type} PARKED after ${row.attempts} attempt(s): ${clip(row.last_error, 60) ?? ''}`]);
  }
  for (const entry of data.inbox) events.push([entry.processed_at, `${entry.event_type} ${entry.event_id} processed: ${entry.outcome}`]);
  for (const change of data.status_history) {
    const why = [change.payment_id && `payment ${change.payment_id}`, change.reason && `reason "${change.reason}"`].filter(Boolean).join(', ');
    events.push([change.changed_at, `${change.from_status} -> ${change.to_status} by event ${change.event_id}${why ? ` (${why})` : ''}`]);
  }
  return events.sort((a, b) => a[0].getTime() - b[0].getTime());
}

function outboxState(row: { published_at: Date | null; parked_at: Date | null; locked_until: Date | null; next_attempt_at: Date | null }): string {
  if (row.published_at) return 'published';
  if (row.parked_at) return 'parked';
  if (row.locked_until && row.locked_until > new Date()) return 'in flight';
  return row.next_attempt_at && row.next_attempt_at > new Date() ? `retry at ${timestamp(row.next_attempt_at)}` : 'pending';
}

function render(data: {
  order_id: string;
  order: Awaited<ReturnType<typeof findOrderWithItems>> | null;
  outbox: Awaited<ReturnType<typeof readOutboxRows>>;
  status_history: Awaited<ReturnType<typeof readHistory>>;
  inbox: Awaited<ReturnType<typeof readInbox>>;
  cache: Awaited<ReturnType<typeof readCache>> & { stale: boolean };
}): string {
  const { order, cache } = data;
  const blocks: string[] = [];
  if (order) {
    blocks.push(
      section(
        `ORDER ${order.order_id}`,
        fields([
          ['status', order.status],
          ['version', order.version],
          ['customer', order.customer_id],
          ['total', order.total_amount],
          ['shipping address', clip(order.shipping_address, 60)],
          ['created', order.created_at],
          ['updated', order.updated_at],
        ]) +
          '\n\n' +
          table(['#', 'PRODUCT', 'QTY', 'PRICE'], order.items.map((i) => [i.line_number, i.product_id, i.quantity, i.price])),
      ),
    );
  } else {
    blocks.push(`ORDER ${data.order_id}\n  not found`);
  }
  const outboxRows: Cell[][] = data.outbox.map((r) => [r.id, r.event_type, r.event_id, outboxState(r), r.attempts, r.created_at, r.published_at, clip(r.last_error, 40)]);
  blocks.push(
    section(
      'OUTBOX',
      outboxRows.length === 0
        ? 'no rows (none written, or published and removed by retention)'
        : table(['ROW', 'TYPE', 'EVENT', 'STATE', 'ATTEMPTS', 'WRITTEN', 'CONFIRMED', 'LAST ERROR'], outboxRows) +
            data.outbox
              .filter((r) => r.traceparent)
              .map((r) => `\ntraceparent of row ${r.id}: ${r.traceparent}`)
              .join(''),
    ),
  );
  blocks.push(
    section(
      'STATUS HISTORY',
      data.status_history.length === 0
        ? 'no transitions'
        : table(
            ['CHANGED AT', 'FROM', 'TO', 'EVENT', 'PAYMENT', 'REASON'],
            data.status_history.map((h) => [h.changed_at, h.from_status, h.to_status, h.event_id, h.payment_id, clip(h.reason, 40)]),
          ),
    ),
  );
  blocks.push(
    section(
      'INBOX (processed_events)',
      data.inbox.length === 0
        ? 'no events processed (none arrived, or pruned by retention)'
        : table(['PROCESSED AT', 'TYPE', 'EVENT', 'OUTCOME'], data.inbox.map((e) => [e.processed_at, e.event_type, e.event_id, e.outcome])),
    ),
  );
  const cacheLine =
    cache.state === 'unavailable'
      ? `unavailable: ${cache.error}`
      : cache.state === 'miss'
        ? `${cache.key}: not cached`
        : cache.state === 'tombstone'
          ? `${cache.key}: tombstone at version ${cache.version} (readers go to Postgres), expires in ${cache.ttl_seconds} s`
          : `${cache.key}: version ${cache.version}, status ${cache.status ?? '?'}, expires in ${cache.ttl_seconds} s${cache.stale ? '  STALE: older than the order' : ''}`;
  blocks.push(section('CACHE', cacheLine));
  const events = timeline(data);
  if (events.length > 0) blocks.push(section('TIMELINE', events.map(([at, what]) => `${timestamp(at)}  ${what}`).join('\n')));
  return blocks.join('\n\n');
}
