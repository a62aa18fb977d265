import { sql } from 'kysely';
import type { Db, Logger } from '@order-service/shared';
import { deletePublishedBefore } from './outbox.repository';

export interface RetentionOptions {
  retentionMs: number;
  intervalMs: number;
  /** Rows per DELETE: small statements keep locks, WAL bursts and replication lag small. */
  batchSize?: number;
}

/** Every relay runs the sweep on a timer; this lock makes only one of them do it at a time. */
const RETENTION_LOCK = sql`hashtext('order-service.outbox-retention')`;

/**
 * Deletes published rows once they are older than the retention, so the outbox (and its dead
 * tuples) stay small. Parked and pending rows are never touched.
 */
export function startRetention(db: Db, logger: Logger, options: RetentionOptions) {
  const batchSize = options.batchSize ?? 1_000;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function sweep(): Promise<number> {
    // A session-level advisory lock needs one connection for the lock, the deletes and the
    // unlock; if the connection dies, Postgres releases the lock with it.
    return db.connection().execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${RETENTION_LOCK}) AS locked`.execute(conn);
      if (!rows[0]?.locked) return 0;
      try {
        let total = 0;
        for (;;) {
          const deleted = await deletePublishedBefore(conn, options.retentionMs, batchSize);
          total += deleted;
          if (deleted < batchSize || stopped) return total;
        }
      } finally {
        await sql`SELECT pg_advisory_unlock(${RETENTION_LOCK})`.execute(conn);
      }
    });
  }

  const schedule = () => {
    if (stopped) return;
    // Jitter keeps many relays from all trying at the same instant.
    timer = setTimeout(() => {
      running = sweep().then(
        (deleted) => {
          if (deleted > 0) logger.info({ deleted }, 'deleted published outbox rows past retention');
        },
        (error: unknown) => logger.warn({ err: (error as Error).message }, 'outbox retention sweep failed'),
      );
      void running.then(schedule);
    }, options.intervalMs * (0.8 + Math.random() * 0.4));
  };
  schedule();

  return {
    /** Runs one sweep now (tests and operators); resolves with the rows deleted. */
    sweepNow: sweep,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
