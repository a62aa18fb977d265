import type { Connection } from 'rabbitmq-client';
import { Topology, type Clock, type Db, type Logger } from '@order-service/shared';
import type { RelaySettings } from './config';
import { startOutboxListener } from './listener';
import { createOutboxPublisher } from './publisher';
import type { RelayCollaborators } from './relay';
import { startRetention } from './retention';
import { createStatsGuard } from './stats-guard';
import { createWakeup } from './wakeup';

/** What the relay's collaborators are built from. */
export interface CollaboratorSources {
  db: Db;
  connection: Connection;
  /** For the dedicated LISTEN connection. */
  databaseUrl: string;
  logger: Logger;
  settings: RelaySettings;
  clock: Clock;
}

/**
 * The collaborators startRelay runs with, as the settings make them: the publisher, the LISTEN
 * connection that wakes the loop, the retention sweep and the planner-statistics guard. main.ts
 * and the relay tests build them here, so the tests run what production runs; a test that needs a
 * fake passes its own to startRelay instead.
 */
export function createRelayCollaborators({ db, connection, databaseUrl, logger, settings, clock }: CollaboratorSources): RelayCollaborators {
  const wakeup = createWakeup(clock);
  return {
    wakeup,
    publisher: createOutboxPublisher(connection, clock, { timeoutMs: settings.publishTimeoutMs, knownExchanges: [Topology.ordersExchange] }),
    listener: startOutboxListener(databaseUrl, logger, wakeup.wake),
    retention: startRetention(db, logger, { retentionMs: settings.retentionMs, intervalMs: settings.retentionIntervalMs }),
    statsGuard: createStatsGuard(db, logger, clock, { batchSize: settings.batchSize }),
  };
}
