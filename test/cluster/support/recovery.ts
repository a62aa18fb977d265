import { sql } from 'kysely';
import { waitFor } from '@order-service/testkit';
import type { FaultSystem } from '../../faults/support/system';

/** Seconds from a loss until the pipeline worked again for orders placed after it. */
export interface Recovery {
  /** The first outbox row of an order placed after the loss was confirmed and settled. */
  publishS: number;
  /** The first payment of an order placed after the loss was applied. */
  applyS: number;
}

/**
 * Waits (with a deadline) until an order placed after `lossAt` was published and its payment
 * applied, and returns how long after the loss each first happened. Orders placed after the loss
 * measure the new path through the cluster, not a backlog that was already on its way.
 */
export async function recoveryAfter(system: FaultSystem, lossAt: number, timeoutMs = 30_000): Promise<Recovery> {
  const since = new Date(lossAt);
  const db = system.database.db;
  const times = await waitFor(
    async () => {
      const { rows } = await sql<{ published: Date | null; applied: Date | null }>`
        SELECT (SELECT min(x.published_at) FROM outbox_published x JOIN orders o ON o.order_id = x.aggregate_id
                 WHERE o.created_at > ${since}) AS published,
               (SELECT min(p.processed_at) FROM processed_events p JOIN orders o ON o.order_id = p.order_id
                 WHERE o.created_at > ${since} AND p.outcome = 'applied') AS applied`.execute(db);
      const row = rows[0];
      return row?.published && row.applied ? { published: row.published, applied: row.applied } : undefined;
    },
    { timeoutMs, intervalMs: 100, what: 'publishing and applying to resume for orders placed after the loss' },
  );
  return { publishS: (times.published.getTime() - lossAt) / 1_000, applyS: (times.applied.getTime() - lossAt) / 1_000 };
}

/** What the relay's own metrics showed of a failover: the backlog's peak and the slowest confirms. */
export interface RelayView {
  backlogPeak: number;
  /** Confirms slower than a second during the scenario (commit → confirm histogram). */
  slowConfirms: number;
  /** Upper bound of the slowest histogram bucket that got a confirm during the scenario, in seconds. */
  slowestBucketS: number;
}

type Buckets = Map<number, number>;

async function scrape(system: FaultSystem): Promise<{ backlog?: number; buckets: Buckets }> {
  const relay = system.processes.relay;
  if (!relay?.running) return { buckets: new Map() };
  const text = await (await fetch(`http://127.0.0.1:${relay.port}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  const backlog = /^relay_outbox_backlog (\S+)$/m.exec(text)?.[1];
  const buckets: Buckets = new Map();
  for (const [, le, count] of text.matchAll(/^relay_commit_to_confirm_seconds_bucket\{le="([^"]+)"\} (\S+)$/gm)) {
    buckets.set(le === '+Inf' ? Infinity : Number(le), Number(count));
  }
  return { backlog: backlog === undefined ? undefined : Number(backlog), buckets };
}

/**
 * Samples the relay's /metrics every 250 ms while a scenario runs. The histogram is cumulative
 * per process, so what a scenario added is the last scrape of each relay process minus its first.
 */
export function watchRelay(system: FaultSystem): { stop(): Promise<RelayView> } {
  let backlogPeak = 0;
  const perProcess = new Map<number, { first: Buckets; last: Buckets }>();
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const port = system.processes.relay?.port;
      const seen = await scrape(system).catch(() => undefined);
      if (seen && port !== undefined) {
        backlogPeak = Math.max(backlogPeak, seen.backlog ?? 0);
        const entry = perProcess.get(port);
        if (entry) entry.last = seen.buckets;
        else perProcess.set(port, { first: seen.buckets, last: seen.buckets });
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  return {
    async stop() {
      stopping = true;
      await loop;
      let slowConfirms = 0;
      let slowestBucketS = 0;
      for (const { first, last } of perProcess.values()) {
        const bounds = [...last.keys()].sort((a, b) => a - b);
        let below = 0;
        for (const bound of bounds) {
          const added = (last.get(bound) ?? 0) - (first.get(bound) ?? 0);
          if (added > below) slowestBucketS = Math.max(slowestBucketS, bound);
          if (bound > 1) slowConfirms += added - below;
          below = added;
        }
      }
      return { backlogPeak, slowConfirms, slowestBucketS };
    },
  };
}
