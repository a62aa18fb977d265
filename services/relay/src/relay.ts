import type { Connection } from 'rabbitmq-client';
import { backoff, declareOrdersExchange, declareWhenReachable, type Clock, type Db, type Logger } from '@order-service/shared';
import type { CrashPoint, RelaySettings } from './config';
import type { RelayMetrics } from './metrics';
import { createClaimFloor } from './claim-floor';
import { gatherMs } from './gather';
import { claimBatch, type Claim, type ClaimedRow } from './outbox-repository';
import type { OutboxPublisher } from './publisher';
import { reportSettled, settleBatch, type ReportDeps, type SettleDeps } from './settle';
import type { StatsGuard } from './stats-guard';
import type { Wakeup } from './wakeup';

/**
 * How soon the relay looks again after a short claim or the first empty one. Empty claims double
 * it up to RELAY_POLL_INTERVAL_MS, so a busy relay sees new rows within milliseconds even if a
 * hint is lost, and an idle one costs one claim per poll interval.
 */
const FAST_POLL_MS = 5;

/**
 * What the relay works with besides its clients (built by createRelayCollaborators). The relay
 * owns them once started: `stop()` stops the listener and the retention, and closes the publisher.
 */
export interface RelayCollaborators {
  /** When the loop looks again; the listener's hints arrive through it. */
  wakeup: Wakeup;
  publisher: OutboxPublisher;
  /** The LISTEN connection that calls `wakeup.wake` on every hint. */
  listener: { stop(): Promise<void> };
  retention: { stop(): Promise<void> };
  statsGuard: StatsGuard;
}

export interface RelayDeps extends RelayCollaborators {
  db: Db;
  connection: Connection;
  logger: Logger;
  metrics: RelayMetrics;
  settings: RelaySettings;
  clock: Clock;
  /** Called if the relay loop dies of an unexpected error (main.ts exits the process). */
  onFatal?: (error: unknown) => void;
  /** Test-only fault hook, called (and awaited) at each crash point of every batch. */
  onCrashPoint?: (point: CrashPoint, rows: ClaimedRow[]) => void | Promise<void>;
}

export interface Relay {
  /** Look for work now (as a NOTIFY would). */
  wake(): void;
  /** Stops claiming, lets the batches in flight finish (publish and mark), then closes. */
  stop(): Promise<void>;
}

/**
 * The outbox relay: claims due rows in batches, publishes each batch pipelined with confirms,
 * marks what the broker confirmed and schedules the rest for a retry. It wakes on NOTIFY (within
 * milliseconds of a commit), on a slow poll that covers lost notifications and due retries, and
 * when a batch finishes (rows of the same order may have been waiting behind it).
 */
export function startRelay(deps: RelayDeps): Relay {
  const { db, connection, logger, settings, wakeup, publisher, listener, retention, statsGuard } = deps;
  let stopping = false;
  const { wake } = wakeup;

  const declareTopology = () =>
    declareWhenReachable(() => declareOrdersExchange(connection), {
      logger,
      what: 'the orders exchange',
      stopped: () => stopping,
      sleep: (ms) => wakeup.sleep(ms),
      deadlineMs: Math.max(settings.publishTimeoutMs, 5_000),
      policy: { baseMs: 100, maxMs: 5_000 },
    });

  const settleDeps: SettleDeps = { publisher, logger, settings, onCrashPoint: deps.onCrashPoint };
  const reportDeps: ReportDeps = { logger, metrics: deps.metrics, settings };
  const inFlight = new Set<Promise<void>>();
  // A blocked connection (a broker memory or disk alarm) takes publishes but does not confirm
  // them: claiming then would only hold rows locked until the publish timeout.
  let blocked = false;
  const onBlocked = () => {
    blocked = true;
  };
  // A new connection starts unblocked (the broker says so again if it still is).
  const onUnblocked = () => {
    blocked = false;
    wake();
  };
  connection.on('connection.blocked', onBlocked);
  connection.on('connection.unblocked', onUnblocked);
  connection.on('connection', onUnblocked);

  /**
   * Claims a batch in a transaction of its own, which stays open until the batch is settled:
   * `claimed` resolves with the rows as soon as they are locked, so the next claim overlaps this
   * batch's publish; `settled` resolves once its outcome is committed (or the transaction failed:
   * then its rows are simply free again).
   */
  function startBatch(limit: number, after: string) {
    let onClaimed!: (claim: Claim) => void;
    const claimed = new Promise<Claim>((resolve) => (onClaimed = resolve));
    const settled = db.transaction().execute(async (trx) => {
      const claim = await claimBatch(trx, limit, after);
      onClaimed(claim);
      return claim.rows.length === 0 ? undefined : settleBatch(settleDeps, trx, claim.rows);
    });
    return { claimed: Promise.race([claimed, settled.then(() => claimed)]), settled };
  }

  async function run() {
    await declareTopology();
    let failures = 0;
    // True while claims come back short: the next wake-up claims a small probe first.
    let caughtUp = true;
    // The wait after an empty claim: short right after work was found, doubling to the poll interval.
    let idleMs = FAST_POLL_MS;
    const floor = createClaimFloor(settings.pollIntervalMs, deps.clock);
    // When the last claim that found rows started: the rows a claim finds arrived since then (the
    // empty claims in between saw none), so their count over that time is the rate. Timing from the
    // claim just before instead would make one row found 2 ms after an empty poll look like 500/s.
    let lastFoundStarted = -Infinity;
    while (!stopping) {
      if (inFlight.size >= settings.maxBatchesInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      // Claiming while the broker is down or blocking publishers would only burn attempts;
      // the 'connection' and 'connection.unblocked' events wake us when it is back.
      if (!connection.ready || blocked) {
        wakeup.clear();
        await wakeup.sleep(settings.pollIntervalMs);
        continue;
      }
      // Cleared before the claim: a hint that arrives during it counts.
      wakeup.clear();
      const afterIdle = caughtUp;
      const limit = statsGuard.limit(afterIdle);
      const claimStarted = performance.now();
      const sinceLastFoundMs = claimStarted - lastFoundStarted;
      const batch = startBatch(limit, floor.next());
      deps.metrics.claims.inc();
      let rows: ClaimedRow[];
      try {
        const claim = await batch.claimed;
        rows = claim.rows;
        floor.claimed(claim.firstCandidateId);
        const claimMs = Math.round(performance.now() - claimStarted);
        statsGuard.afterClaim({ afterIdle, rows: rows.length, limit, ms: claimMs });
        logger.debug({ rows: rows.length, limit, claimMs, inFlight: inFlight.size }, 'claimed');
        caughtUp = rows.length < limit;
        failures = 0;
      } catch (error) {
        statsGuard.afterClaim({ afterIdle, rows: 0, limit, ms: Math.round(performance.now() - claimStarted), error });
        failures += 1;
        // It may have been the claim from the start; the next one is, and one after its lease ran out.
        floor.rescanIn(0, settings.leaseMs);
        logger.warn({ err: (error as Error).message, failures }, 'claiming outbox rows failed; retrying');
        // Back off (Postgres is likely away); only a hint cuts it short.
        wakeup.clear();
        await wakeup.sleep(backoff(failures, { baseMs: 200, maxMs: 5_000 }));
        continue;
      }
      if (rows.length === 0) {
        await wakeup.sleep(idleMs);
        idleMs = Math.min(idleMs * 2, settings.pollIntervalMs);
        continue;
      }
      idleMs = FAST_POLL_MS;
      lastFoundStarted = claimStarted;
      const tracked: Promise<void> = batch.settled
        .then((settled) => {
          if (!settled) return;
          reportSettled(reportDeps, settled);
          if (settled.firstRetryMs === undefined) return;
          wakeup.wakeAfter(settled.firstRetryMs);
          floor.rescanIn(settled.firstRetryMs);
        })
        .catch((error: unknown) => {
          // The transaction is gone, and with it the locks: the rows can be claimed again at once, or,
          // if only the relay's side of the connection died, once the server ended it (the lease).
          floor.rescanIn(0, settings.leaseMs);
          logger.error({ err: error }, 'outbox batch failed; its rows will be claimed again');
        })
        .finally(() => {
          inFlight.delete(tracked);
          // Rows of the same orders may have been waiting behind this batch.
          wake();
        });
      inFlight.add(tracked);
      // A short batch means the backlog is drained: give the next rows a moment to gather.
      if (rows.length < limit) await wakeup.pause(gatherMs(rows.length, sinceLastFoundMs));
    }
    await Promise.allSettled(inFlight);
  }

  logger.info({ settings }, 'relay started');
  // The loop handles every expected failure itself; an exception here is a bug, and a relay
  // that silently stopped relaying would be worse than one that exits.
  const running = run().catch((error: unknown) => {
    logger.fatal({ err: error }, 'relay loop failed');
    deps.onFatal?.(error);
  });
  return {
    wake,
    async stop() {
      stopping = true;
      wakeup.close();
      await running;
      connection.off('connection.blocked', onBlocked);
      connection.off('connection.unblocked', onUnblocked);
      connection.off('connection', onUnblocked);
      await Promise.all([retention.stop(), listener.stop(), statsGuard.settled()]);
      await publisher.close();
      logger.info('relay stopped');
    },
  };
}
