import { sql } from 'kysely';
import { orderItemsOf } from '@order-service/shared/db/find-order';
import type { Db } from '@order-service/shared/db/index';
import { notifyOutbox } from '@order-service/shared/db/outbox-hint';
import { outboxRowOf } from '@order-service/shared/db/outbox-row';
import { ORDER_CREATED, orderCreatedOf } from '@order-service/shared/events/order-created';
import { ExitCode, UsageError, type CommandResult } from './exit-codes';
import { clip, table } from './format';

/** `ops outbox parked`: rows the relay gave up on, oldest first, with why. */
export async function listParked(db: Db, limit: number): Promise<CommandResult> {
  const [rows, total] = await Promise.all([
    db
      .selectFrom('outbox')
      .select(['id', 'event_id', 'event_type', 'aggregate_id', 'attempts', 'created_at', 'parked_at', 'last_error'])
      .where('parked_at', 'is not', null)
      .orderBy('id')
      .limit(limit)
      .execute(),
    db
      .selectFrom('outbox')
      .select(sql<string>`count(*)`.as('n'))
      .where('parked_at', 'is not', null)
      .executeTakeFirstOrThrow(),
  ]);
  const parked = rows.map((row) => ({ ...row, id: String(row.id), order_id: row.aggregate_id }));
  const count = Number(total.n);
  const text =
    count === 0
      ? 'No parked outbox rows.'
      : [
          table(
            ['ID', 'EVENT', 'TYPE', 'ORDER', 'ATTEMPTS', 'PARKED AT', 'LAST ERROR'],
            parked.map((r) => [r.id, r.event_id, r.event_type, r.order_id, r.attempts, r.parked_at, clip(r.last_error, 60)]),
          ),
          '',
          `${count} parked row(s)${count > parked.length ? `, ${parked.length} shown (--limit)` : ''}. ` +
            'Fix the cause, then: pnpm ops outbox redrive <id>... | --all',
        ].join('\n');
  return { exitCode: ExitCode.ok, data: { count, rows: parked }, text };
}

/**
 * `ops outbox redrive`: puts parked rows back in the relay's path. Attempts start again from 0
 * and the row is due at once; the last error is kept (for the record) unless `clearError`.
 * Listening relays are told after the update (notifyOutbox), so they take the rows at once.
 * Exits 3 when a named id is not a parked row (unknown, published, or not parked).
 */
export async function redriveParked(
  db: Db,
  target: { ids: string[] } | { all: true },
  options: { clearError: boolean },
): Promise<CommandResult> {
  const ids = 'ids' in target ? target.ids : [];
  for (const id of ids) if (!/^\d{1,18}$/.test(id)) throw new UsageError(`not an outbox row id: ${id}`);
  if ('ids' in target && ids.length === 0) throw new UsageError('name the parked rows to redrive, or pass --all');

  const redriven = await db
    .updateTable('outbox')
    .set({
      parked_at: null,
      attempts: 0,
      next_attempt_at: sql<Date>`now()`,
      locked_until: null,
      lease_token: null,
      ...(options.clearError ? { last_error: null } : {}),
    })
    .where('parked_at', 'is not', null)
    .$if(ids.length > 0, (qb) => qb.where('id', '=', sql<string>`any(${ids}::bigint[])`))
    .returning(['id', 'event_id', 'aggregate_id'])
    .execute();
  if (redriven.length > 0) await notifyOutbox(db);
  const rows = redriven.map((row) => ({ id: String(row.id), event_id: row.event_id, order_id: row.aggregate_id })).sort((a, b) => Number(a.id) - Number(b.id));
  const done = new Set(rows.map((row) => row.id));
  const notParked = [...new Set(ids.map((id) => String(BigInt(id))))].filter((id) => !done.has(id));

  const lines = [rows.length === 0 ? 'No parked rows were redriven.' : `Redriven ${rows.length} row(s): ${rows.map((r) => r.id).join(', ')}.`];
  if (rows.length > 0) lines.push('The relays were notified; watch them go out with: pnpm ops status');
  if (notParked.length > 0) lines.push(`Not parked (unknown, already published, or not parked): ${notParked.join(', ')}.`);
  return {
    exitCode: notParked.length > 0 ? ExitCode.notFound : ExitCode.ok,
    data: { redriven: rows, not_parked: notParked },
    text: lines.join('\n'),
  };
}

/** `ops outbox republish` reads its window a slice at a time (the records' BRIN index finds a slice), in pages of records by id. */
const REPUBLISH_SLICE_MS = 10_000;
const REPUBLISH_PAGE = 1_000;

/** One page of a slice of `ops outbox republish`: up to `pageSize` records with ids above `after`, their events put back. */
async function republishPage(db: Db, slice: { from: Date; to: Date }, after: string, pageSize: number) {
  const { rows } = await sql<{
    id: string;
    event_id: string;
    traceparent: string | null;
    tracestate: string | null;
    order_id: string | null;
    customer_id: string;
    shipping_address: string;
    total_amount: string;
    created_at: Date;
    items: Array<{ product_id: string; quantity: number; price: string }>;
  }>`
    SELECT p.id::text AS id, p.event_id, p.traceparent, p.tracestate,
           o.order_id, o.customer_id, o.shipping_address, o.total_amount::text AS total_amount, o.created_at,
           ${orderItemsOf(sql.ref('o.order_id'))} AS items
      FROM outbox_published p LEFT JOIN orders o ON o.order_id = p.aggregate_id
     WHERE p.event_type = ${ORDER_CREATED} AND p.published_at >= ${slice.from} AND p.published_at < ${slice.to}
       AND p.id > ${after}::bigint
     ORDER BY p.id
     LIMIT ${pageSize}`.execute(db);
  const events = rows
    .filter((row) => row.order_id !== null)
    .map((row) =>
      outboxRowOf(orderCreatedOf({ ...row, order_id: row.order_id!, created_at: row.created_at.toISOString() }, row.event_id), {
        traceparent: row.traceparent ?? undefined,
        tracestate: row.tracestate ?? undefined,
      }),
    );
  const inserted =
    events.length === 0 ? undefined : await db.insertInto('outbox').values(events).onConflict((oc) => oc.column('event_id').doNothing()).executeTakeFirst();
  return { read: rows.length, written: Number(inserted?.numInsertedOrUpdatedRows ?? 0), orderless: rows.length - events.length, lastId: rows.at(-1)?.id };
}

/**
 * `ops outbox republish --since T [--until T]`: for a broker that lost messages it had confirmed,
 * puts every OrderCreated the relays published in [since, until) back in the outbox. The outbox
 * keeps no payload once a row is published (outbox_published records the rest), so each event is
 * made again from its order, with its original event id and trace context: the same body, byte
 * for byte, and consumers deduplicate it by id (its AMQP timestamp is the time it is put back).
 * An event still in the outbox (pending or parked) is left as it is.
 *
 * The window ends at the database's clock when the command starts, at the latest: what it puts
 * back is published and recorded again at once, and must not be read again. It is read in slices
 * of time and pages of records, so a window of any length takes the same memory.
 */
export async function republishPublished(db: Db, window: { since: Date; until?: Date }, pageSize = REPUBLISH_PAGE): Promise<CommandResult> {
  const { rows: clock } = await sql<{ now: Date }>`SELECT statement_timestamp() AS now`.execute(db);
  const now = clock[0]!.now;
  const until = window.until && window.until < now ? window.until : now;
  if (!(window.since < until)) throw new UsageError(`--since must be before --until (and before the database's time, ${now.toISOString()})`);
  let found = 0;
  let written = 0;
  let orderless = 0;
  for (let from = window.since.getTime(); from < until.getTime(); from += REPUBLISH_SLICE_MS) {
    const slice = { from: new Date(from), to: new Date(Math.min(from + REPUBLISH_SLICE_MS, until.getTime())) };
    for (let after = '0'; ; ) {
      const page = await republishPage(db, slice, after, pageSize);
      found += page.read;
      written += page.written;
      orderless += page.orderless;
      if (page.read < pageSize) break;
      after = page.lastId!;
    }
  }
  if (written > 0) await notifyOutbox(db);
  const span = `between ${window.since.toISOString()} and ${until.toISOString()}`;
  const lines =
    found === 0
      ? [`No OrderCreated was published ${span} (or its record is past RELAY_RETENTION_HOURS).`]
      : [
          `Put ${written} OrderCreated event(s) back in the outbox, of ${found} record(s) published ${span}.`,
          ...(found - written - orderless > 0 ? [`${found - written - orderless} were in the outbox already (pending or parked), or recorded twice.`] : []),
          ...(orderless > 0 ? [`${orderless} record(s) name an order that is not in the database: not republished.`] : []),
          ...(written > 0 ? ['The relays were notified; watch them go out with: pnpm ops status'] : []),
        ];
  return {
    exitCode: ExitCode.ok,
    data: { since: window.since, until, records: found, republished: written, without_order: orderless },
    text: lines.join('\n'),
  };
}
