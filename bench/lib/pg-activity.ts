import { sql } from 'kysely';
import type { Db } from '@order-service/shared';

interface Row {
  app: string;
  state: string | null;
  wait: string | null;
  query: string;
}

/** The first words of a statement, enough to tell the claim from the mark, the insert from the update. */
const label = (query: string) => query.replace(/\s+/g, ' ').trim().slice(0, 48);

/**
 * Samples pg_stat_activity every `intervalMs` for the sessions of the given applications
 * (application_name), to show what a service's connections spend their time on: which statement
 * is running, and what it waits for (WAL flush, a lock, the client). A cheap, outside view for
 * when pg_stat_statements is not loaded. Returns, per application, the mean number of busy
 * connections and the share of busy samples per statement and per wait event.
 */
export function samplePgActivity(db: Db, databaseName: string, applications: string[], intervalMs = 20) {
  const rows: Row[] = [];
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const result = await sql<Row>`
        select application_name as app, state, wait_event_type || ':' || wait_event as wait, query
        from pg_stat_activity
        where datname = ${databaseName} and application_name = any(${applications}) and state <> 'idle'`
        .execute(db)
        .catch(() => undefined);
      if (result) {
        samples++;
        rows.push(...result.rows);
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      const summary: Record<string, unknown> = {};
      for (const app of applications) {
        const busy = rows.filter((row) => row.app === app);
        if (busy.length === 0) continue;
        const share = (key: (row: Row) => string) => {
          const counts = new Map<string, number>();
          for (const row of busy) counts.set(key(row), (counts.get(key(row)) ?? 0) + 1);
          return Object.fromEntries(
            [...counts]
              .sort((a, b) => b[1] - a[1])
              .slice(0, 6)
              .map(([name, count]) => [name, `${Math.round((count / busy.length) * 100)}%`]),
          );
        };
        summary[app] = {
          meanBusyConnections: Math.round((busy.length / Math.max(samples, 1)) * 100) / 100,
          statements: share((row) => (row.state === 'active' ? label(row.query) : `(${row.state}) after ${label(row.query)}`)),
          waits: share((row) => (row.state === 'active' ? (row.wait ?? 'CPU') : 'client')),
        };
      }
      return { samples, intervalMs, ...summary };
    },
  };
}
