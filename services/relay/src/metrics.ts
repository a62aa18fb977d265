import { Counter, Gauge, Histogram } from 'prom-client';
import { countParked, createRegistry, pendingStats, withDeadline, type Clock, type Db } from '@order-service/shared';

export type RelayMetrics = ReturnType<typeof createRelayMetrics>;

/** Runs `read` at most once at a time; callers that arrive meanwhile share its answer. */
function shared<T>(read: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => (running ??= read().finally(() => (running = undefined)));
}

/**
 * The relay's metrics (names are a contract with dashboards and the bench). The backlog gauges
 * are read from Postgres when scraped; if Postgres does not answer within a second the last
 * values stay, so a scrape never hangs on a database outage.
 */
export function createRelayMetrics(db: Db, clock: Clock) {
  const registry = createRegistry();

  const readPending = shared(() => withDeadline(pendingStats(db), 1_000, 'postgres'));
  let parkedReadAt = 0;
  const readParked = shared(async () => {
    // Counting parked rows has no index to use, so it is refreshed at most every 30 s.
    if (clock.now() - parkedReadAt < 30_000) return undefined;
    const parked = await withDeadline(countParked(db), 1_000, 'postgres');
    parkedReadAt = clock.now();
    return parked;
  });

  return {
    registry,
    published: new Counter({ name: 'relay_published_total', help: 'Outbox rows confirmed by the broker and settled as published', registers: [registry] }),
    claims: new Counter({
      name: 'relay_claims_total',
      help: 'Claims made (each one transaction: BEGIN, the claim, and COMMIT after its batch), empty ones included: an idle relay costs these',
      registers: [registry],
    }),
    retried: new Counter({ name: 'relay_retried_total', help: 'Failed publishes put back for a retry with backoff', registers: [registry] }),
    parked: new Counter({ name: 'relay_parked_total', help: 'Outbox rows parked after their last attempt failed', registers: [registry] }),
    commitToConfirm: new Histogram({
      name: 'relay_commit_to_confirm_seconds',
      help: 'From the outbox row being written to the broker confirming its message',
      // Fine at the low end: an idle relay confirms within a few milliseconds of the commit.
      buckets: [0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    }),
    backlog: new Gauge({
      name: 'relay_outbox_backlog',
      help: 'Outbox rows not yet published (parked rows excluded)',
      registers: [registry],
      async collect() {
        const stats = await readPending().catch(() => undefined);
        if (stats) this.set(stats.backlog);
      },
    }),
    oldestAge: new Gauge({
      name: 'relay_outbox_oldest_age_seconds',
      help: 'Age of the oldest outbox row not yet published',
      registers: [registry],
      async collect() {
        const stats = await readPending().catch(() => undefined);
        if (stats) this.set(stats.oldestAgeSeconds ?? 0);
      },
    }),
    parkedRows: new Gauge({
      name: 'relay_outbox_parked',
      help: 'Outbox rows parked and waiting for a redrive (refreshed every 30 s)',
      registers: [registry],
      async collect() {
        const parked = await readParked().catch(() => undefined);
        if (parked !== undefined) this.set(parked);
      },
    }),
  };
}
