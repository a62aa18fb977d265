import { sql } from 'kysely';
import type { Db } from '@order-service/shared/db/index';
import { notifyOutbox } from '@order-service/shared/db/outbox-hint';
import { ExitCode, UsageError, type CommandResult } from './exit-codes';
import { clip, table } from './format';

/** `ops outbox parked`: rows the relay gave up on, oldest first, with why. */
export async function listParked(db: Db, limit: number): Promise<CommandResult> {
  const [rows, total] = await Promise.all([
    db
      .selectFrom('outbox')
      .select(['id', 'event_id', 'event_type', 'aggregate_id', 'attempts', 'created_at', 'parked_at', 'last_error'])
      .where('parked_at', 'is not', null)
      .where('published_at', 'is', null)
      .orderBy('id')
      .limit(limit)
      .execute(),
    db
      .selectFrom('outbox')
      .select(sql<string>`count(*)`.as('n'))
      .where('parked_at', 'is not', null)
      .where('published_at', 'is', null)
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
    .where('published_at', 'is', null)
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
