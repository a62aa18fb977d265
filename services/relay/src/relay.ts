import { randomUUID } from 'node:crypto';
import type { Connection } from 'rabbitmq-client';
import { Topology, declareOrdersExchange, type Db, type Logger } from '@order-service/shared';
import type { CrashPoint, RelaySettings } from './config';
import { startOutboxListener } from './listener';
import type { RelayMetrics } from './metrics';
import { withDeadline } from './deadline';
import { claimBatch, type ClaimedRow } from './outbox.repository';
import { createOutboxPublisher } from './publisher';
import { startRetention } from './retention';
import { createWakeup } from './wakeup';
import { settleBatch } from './settle';
import { createStatsGuard } from './stats-guard';

export interface RelayDeps {
  db: Db;
  connection: Connection;
  /** For the dedicated LISTEN connection. */
  databaseUrl: string;
  logger: Logger;
  metrics: RelayMetrics;
  settings: RelaySettings;
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
  const { db, connection, logger, settings } = deps;
  const publisher = createOutboxPublisher(connection, {
    timeoutMs: settings.publishTimeoutMs,
    knownExchanges: [Topology.ordersExchange],
  });
  let stopping = false;
  const wakeup = createWakeup();
  const { wake } = wakeup;

  const listener = startOutboxListener(deps.databaseUrl, logger, wake);
  const retention = startRetention(db, logger, { retentionMs: settings.retentionMs, intervalMs: settings.retentionIntervalMs });
  connection.on('connection', wake);
  connection.on('connection.unblocked', wake);

  async function declareTopology() {
    for (let attempt = 0; !stopping; attempt += 1) {
      try {
        // Bounded: an RPC to a broker that stopped answering would otherwise wait for the heartbeat.
        await withDeadline(declareOrdersExchange(connection), Math.max(settings.publishTimeoutMs, 5_000));
        return;
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'cannot declare the orders exchange yet; retrying');
        await wakeup.sleep(Math.min(100 * 2 ** attempt, 5_000));
      }
    }
  }

  const statsGuard = createStatsGuard(db, logger, { batchSize: settings.batchSize });
  const inFlight = new Set<Promise<void>>();
  async function run() {
    await declareTopology();
    let failures = 0;
    // True while claims come back short: the next wake-up claims a small probe first.
    let caughtUp = true;
    while (!stopping) {
      if (inFlight.size >= settings.maxBatchesInFlight) {
        await Promise.race(inFlight);
        continue;
      }
      // Claiming while the broker is down or blocking publishers would only burn attempts;
      // the 'connection' and 'connection.unblocked' events wake us when it is back.
      if (!connection.ready) {
        wakeup.clear();
        await wakeup.sleep(settings.pollIntervalMs);
        continue;
      }
      // Cleared before the claim: a notification that arrives during it counts.
      wakeup.clear();
      const token = randomUUID();
      const afterIdle = caughtUp;
      const limit = statsGuard.limit(afterIdle);
      const claimStarted = Date.now();
      let rows;
      try {
        rows = await claimBatch(db, limit, settings.leaseMs, token);
        statsGuard.afterClaim({ afterIdle, rows: rows.length, limit, ms: Date.now() - claimStarted });
        logger.debug({ rows: rows.length, limit, claimMs: Date.now() - claimStarted, inFlight: inFlight.size }, 'claimed');
        caughtUp = rows.length < limit;
        failures = 0;
      } catch (error) {
        statsGuard.afterClaim({ afterIdle, rows: 0, limit, ms: Date.now() - claimStarted, error });
        // A claim whose answer was lost may still have committed: its rows come back when the lease ends.
        wakeup.wakeAfter(settings.leaseMs);
        failures += 1;
        logger.warn({ err: (error as Error).message, failures }, 'claiming outbox rows failed; retrying');
        // Back off (Postgres is likely away); only a notification, which means it is back, cuts it short.
        wakeup.clear();
        await wakeup.sleep(Math.min(100 * 2 ** failures, 5_000));
        continue;
      }
      if (rows.length === 0) {
        await wakeup.sleep(settings.pollIntervalMs);
        continue;
      }
      const leaseEndsAt = Date.now() + settings.leaseMs;
      const batch: Promise<void> = settleBatch(deps, publisher, rows, token)
        .then((retryInMs) => {
          if (retryInMs !== undefined) wakeup.wakeAfter(retryInMs);
        })
        .catch((error: unknown) => {
          logger.error({ err: error }, 'outbox batch failed; its rows are retried after the lease');
          wakeup.wakeAfter(Math.max(0, leaseEndsAt - Date.now()));
        })
        .finally(() => {
          inFlight.delete(batch);
          // Rows of the same orders may have been waiting behind this batch.
          wake();
        });
      inFlight.add(batch);
      // A short batch means the backlog is drained: wait for the next hint instead of asking again.
      if (rows.length < limit) await wakeup.sleep(settings.pollIntervalMs);
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
      connection.off('connection', wake);
      connection.off('connection.unblocked', wake);
      await Promise.all([retention.stop(), listener.stop(), statsGuard.settled()]);
      await publisher.close();
      logger.info('relay stopped');
    },
  };
}
