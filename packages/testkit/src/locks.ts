import { sql } from 'kysely';
import type { Db } from '@order-service/shared';
import { waitFor } from './wait';

/** Waits until a session of `applicationName` on `db`'s database is blocked on a lock. */
export function waitForLockWait(db: Db, applicationName: string) {
  return waitFor(
    async () => {
      const { rows } = await sql<{ waiting: number }>`
        SELECT count(*)::int AS waiting FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = ${applicationName} AND wait_event_type = 'Lock'`.execute(db);
      return rows[0]!.waiting > 0;
    },
    { timeoutMs: 10_000, what: `a ${applicationName} session to wait on a lock` },
  );
}
