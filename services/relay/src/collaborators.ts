import type { Connection } from 'rabbitmq-client';
import { Topology, type Clock, type Db, type DbOptions, type Logger } from '@order-service/shared';
import type { RelaySettings } from './config';
import { startOutboxListener } from './listener';
import { createOutboxPublisher } from './publisher';
import type { RelayCollaborators } from './relay';
import { startRetention } from './retention';
import { createStatsGuard } from './stats-guard';
import { createWakeup } from './wakeup';

/**
 * How the relay's Postgres sessions behave, for main.ts and the relay tests alike:
 * - a claim is a transaction held while its batch is on the wire, so a relay that hangs longer
 *   than its lease loses it, and its rows go to another relay;
 * - the relay writes only outcomes (a published row deleted and recorded, a retry, a park) and
 *   deletes what retention allows. An outcome lost in a Postgres crash makes its event go out again, which at-least-once allows
 *   (consumers dedupe by event id), so its commits need not wait for the disk.
 */
export function relaySessionOptions(settings: Pick<RelaySettings, 'leaseMs'>): Pick<DbOptions, 'idleInTransactionTimeoutMs' | 'asynchronousCommit'> {
  return { idleInTransactionTimeoutMs: settings.leaseMs, asynchronousCommit: true };
}

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
