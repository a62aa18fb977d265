import { sql } from 'kysely';
import type { Db } from '@order-service/shared';

/**
 * Samples, every `intervalMs`, how many sessions wait for the lock that NOTIFY takes at commit
 * (an AccessExclusiveLock on "database 0": one for the whole cluster, held through the commit's
 * WAL flush, so every transaction that notifies commits one after another). Evidence for
 * figures 1 and 6: when sessions queue here, the outbox trigger's NOTIFY is what limits commits.
 */
export function sampleNotifyLockWaits(db: Db, databaseName: string, intervalMs = 100) {
  const samples: Array<{ bench: number; all: number }> = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const { rows } = await sql<{ bench: string; all: string }>`
        select count(*) filter (where a.datname = ${databaseName}) as bench, count(*) as all
        from pg_locks l left join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'object' and l.classid = 'pg_database'::regclass and l.objid = 0 and not l.granted`
        .execute(db)
        .catch(() => ({ rows: [] as Array<{ bench: string; all: string }> }));
      if (rows[0]) samples.push({ bench: Number(rows[0].bench), all: Number(rows[0].all) });
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    /** Mean number of waiters, and the share of samples with at least one (bench database / whole cluster). */
    async stop() {
      stopped = true;
      await loop;
      const mean = (pick: (s: { bench: number; all: number }) => number) =>
        samples.length === 0 ? 0 : Math.round((samples.reduce((sum, s) => sum + pick(s), 0) / samples.length) * 10) / 10;
      const share = (pick: (s: { bench: number; all: number }) => number) =>
        samples.length === 0 ? 0 : Math.round((samples.filter((s) => pick(s) > 0).length / samples.length) * 100);
      return {
        samples: samples.length,
        meanWaitingBenchDb: mean((s) => s.bench),
        meanWaitingCluster: mean((s) => s.all),
        percentOfSamplesWithWaitersBenchDb: share((s) => s.bench),
      };
    },
  };
}
