import { sql } from 'kysely';
import { startPeriodic, type Db, type Logger } from '@order-service/shared';
import { deletePublishedBefore } from './outbox-repository';

export interface RetentionOptions {
  retentionMs: number;
  intervalMs: number;
  /** Rows per DELETE: small statements keep locks, WAL bursts and replication lag small. */
  batchSize?: number;
}

export interface Retention {
  stop(): Promise<void>;
}

/** Every relay runs the sweep on a timer; this lock makes only one of them do it at a time. */
const RETENTION_LOCK = sql`hashtext('order-service.outbox-retention')`;

/**
 * Deletes the records of published rows (outbox_published) once they are older than the
 * retention. The outbox itself holds only pending and parked rows: a row leaves it when published.
 */
export function startRetention(db: Db, logger: Logger, options: RetentionOptions): Retention {
  const batchSize = options.batchSize ?? 1_000;
  let stopped = false;

  async function sweep(): Promise<void> {
    // A session-level advisory lock needs one connection for the lock, the deletes and the
    // unlock; if the connection dies, Postgres releases the lock with it.
    const deleted = await db.connection().execute(async (conn) => {
      const { rows } = await sql<{ locked: boolean }>`SELECT pg_try_advisory_lock(${RETENTION_LOCK}) AS locked`.execute(conn);
      if (!rows[0]?.locked) return 0;
      try {
        let total = 0;
        for (;;) {
          const deleted = await deletePublishedBefore(conn, options.retentionMs, batchSize);
          total += deleted;
          // A shutdown does not wait for the rest of a large backlog: the next sweep takes it.
          if (deleted < batchSize || stopped) return total;
        }
      } finally {
        await sql`SELECT pg_advisory_unlock(${RETENTION_LOCK})`.execute(conn);
      }
    });
    if (deleted > 0) logger.info({ deleted }, 'deleted records of published outbox rows past retention');
  }

  const periodic = startPeriodic('outbox retention sweep', options.intervalMs, sweep, logger);
  return {
    async stop() {
      stopped = true;
      await periodic.stop();
    },
  };
}
