import { randomUUID } from 'node:crypto';
import { sql, type Transaction } from 'kysely';
import { Connection, type AsyncMessage, type Consumer } from 'rabbitmq-client';
import {
  EVENT_SOURCE,
  ORDER_CREATED,
  Topology,
  cloudEventOf,
  createDb,
  createLogger,
  declareOrdersExchange,
  notifyOutbox,
  outboxRowOf,
  systemClock,
  type DB,
  type Db,
  type OrderCreated,
} from '@order-service/shared';
import { createRelayCollaborators, relaySessionOptions } from '../src/collaborators';
import { createRelayMetrics } from '../src/metrics';
import type { RelaySettings } from '../src/config';
import { startRelay } from '../src/relay';

/** Settings for tests: quick retries and leases, so failure paths finish in seconds. */
export const TEST_SETTINGS: RelaySettings = {
  batchSize: 200,
  maxBatchesInFlight: 4,
  pollIntervalMs: 200,
  publishTimeoutMs: 1_000,
  leaseMs: 3_000,
  maxAttempts: 20,
  backoff: { baseMs: 50, maxMs: 500 },
  retentionMs: 24 * 3_600_000,
  retentionIntervalMs: 60_000,
};

/** Writes one OrderCreated event the way the API does (the full CloudEvent as the payload). */
export async function insertOrderEvent(
  db: Db | Transaction<DB>,
  options: { traceparent?: string; tracestate?: string; exchange?: string; orderId?: string } = {},
) {
  const orderId = options.orderId ?? randomUUID();
  const now = new Date().toISOString();
  const event: OrderCreated = cloudEventOf({
    type: ORDER_CREATED,
    source: EVENT_SOURCE,
    time: now,
    data: {
      order_id: orderId,
      customer_id: randomUUID(),
      items: [{ product_id: randomUUID(), quantity: 2, price: 12.5 }],
      total_amount: 25,
      shipping_address: '1 Test Street',
      created_at: now,
    },
  });
  const outboxRow = outboxRowOf(event, options);
  const { payload } = outboxRow;
  const row = await db
    .insertInto('outbox')
    .values({ ...outboxRow, exchange: options.exchange ?? outboxRow.exchange })
    .returning('id')
    .executeTakeFirstOrThrow();
  // As the API does after its commit; in a transaction, the caller's commit is not ours to hint.
  if (!db.isTransaction) await notifyOutbox(db as Db);
  return { id: String(row.id), eventId: event.id, orderId, payload };
}

/**
 * Inserts `count` events in one statement, `perOrder` consecutive events per order (so the
 * per-order ordering can be checked), as fast as a test needs for a backlog of thousands.
 */
export async function insertEvents(db: Db, count: number, perOrder = 1): Promise<void> {
  const salt = randomUUID();
  await sql`
    INSERT INTO outbox (event_id, event_type, aggregate_id, exchange, routing_key, payload)
    SELECT e.event_id, 'OrderCreated', e.order_id, 'orders', 'order.created',
           json_build_object('specversion', '1.0', 'id', e.event_id, 'source', ${EVENT_SOURCE}::text, 'type', 'OrderCreated',
                             'time', now(), 'datacontenttype', 'application/json',
                             'data', json_build_object('order_id', e.order_id, 'seq', e.g))
      FROM (SELECT g, gen_random_uuid() AS event_id, md5(${salt}::text || ((g - 1) / ${perOrder}::int))::uuid AS order_id
              FROM generate_series(1, ${count}::int) AS g) AS e
     ORDER BY e.g`.execute(db);
  await notifyOutbox(db);
}

/** What a queue bound to `orders` received, to measure loss and duplicates. */
export interface Audit {
  messages: AsyncMessage[];
  close(): Promise<void>;
}

export async function startAudit(rabbitUrl: string): Promise<Audit> {
  const connection = new Connection({ url: rabbitUrl, connectionName: 'relay-test-audit', retryLow: 100, retryHigh: 1_000 });
  connection.on('error', () => {});
  await declareOrdersExchange(connection);
  const queue = `audit-${randomUUID().slice(0, 8)}`;
  const messages: AsyncMessage[] = [];
  const consumer: Consumer = connection.createConsumer(
    {
      queue,
      queueOptions: { durable: true },
      queueBindings: [{ exchange: Topology.ordersExchange, routingKey: '#' }],
      qos: { prefetchCount: 2_000 },
    },
    (message) => {
      messages.push(message);
    },
  );
  await new Promise<void>((resolve, reject) => {
    consumer.once('ready', () => resolve());
    consumer.once('error', reject);
  });
  return {
    messages,
    async close() {
      await consumer.close();
      await connection.queueDelete({ queue }).catch(() => {});
      await connection.close();
    },
  };
}

export interface AuditReport {
  committed: number;
  received: number;
  lost: string[];
  unexpected: string[];
  duplicates: string[];
  /** Orders whose events first arrived in another order than they were written. */
  reordered: string[];
}

/** Committed outbox rows against received messages: lost, unexpected, duplicated, reordered. */
export async function auditReport(db: Db, audit: Audit, options: { exchange?: string } = {}): Promise<AuditReport> {
  // Every row written: those still in the outbox and the records of those published.
  const rows = await db
    .selectFrom('outbox_events')
    .select(['event_id', 'aggregate_id'])
    .where('exchange', '=', options.exchange ?? Topology.ordersExchange)
    .orderBy('id')
    .$narrowType<{ event_id: string; aggregate_id: string }>()
    .execute();
  const committed = new Set(rows.map((row) => row.event_id));
  const seen = new Map<string, number>();
  const firstArrival: string[] = [];
  for (const message of audit.messages) {
    const id = String(message.messageId);
    if (!seen.has(id)) firstArrival.push(id);
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  const arrivalIndex = new Map(firstArrival.map((id, index) => [id, index]));
  const lastIndexByOrder = new Map<string, number>();
  const reordered = new Set<string>();
  for (const row of rows) {
    const index = arrivalIndex.get(row.event_id);
    if (index === undefined) continue;
    if ((lastIndexByOrder.get(row.aggregate_id) ?? -1) > index) reordered.add(row.aggregate_id);
    lastIndexByOrder.set(row.aggregate_id, index);
  }
  return {
    committed: committed.size,
    received: audit.messages.length,
    lost: [...committed].filter((id) => !seen.has(id)),
    unexpected: [...seen.keys()].filter((id) => !committed.has(id)),
    duplicates: [...seen].filter(([, count]) => count > 1).map(([id]) => id),
    reordered: [...reordered],
  };
}

/** A relay in this process, with its own pool and broker connection, and the collaborators production builds. */
export async function startTestRelay(options: {
  databaseUrl: string;
  rabbitUrl: string;
  settings?: Partial<RelaySettings>;
  onCrashPoint?: Parameters<typeof startRelay>[0]['onCrashPoint'];
}) {
  const clock = systemClock;
  const logger = createLogger('relay-test', process.env.TEST_LOG_LEVEL ?? 'silent');
  const settings = { ...TEST_SETTINGS, ...options.settings };
  const db = createDb(options.databaseUrl, {
    max: 5,
    applicationName: 'relay-test',
    onIdleError: () => {},
    ...relaySessionOptions(settings),
  });
  const connection = new Connection({ url: options.rabbitUrl, connectionName: 'relay-test', retryLow: 50, retryHigh: 500, heartbeat: 5, noDelay: process.env.NODELAY === '1' });
  connection.on('error', () => {});
  const metrics = createRelayMetrics(db, clock);
  const collaborators = createRelayCollaborators({ db, connection, databaseUrl: options.databaseUrl, logger, settings, clock });
  const relay = startRelay({ db, connection, logger, metrics, settings, clock, ...collaborators, onCrashPoint: options.onCrashPoint });
  return {
    relay,
    metrics,
    connection,
    /** Reads a counter or gauge value from the relay's registry. */
    async metric(name: string): Promise<number> {
      const found = await metrics.registry.getSingleMetric(name)?.get();
      return found?.values.reduce((sum, value) => sum + value.value, 0) ?? 0;
    },
    async stop() {
      await relay.stop();
      await connection.close();
      await db.destroy();
    },
  };
}

/** Counts outbox rows by state (outbox_events: published ones are the records the relay left). */
export async function outboxState(db: Db) {
  const row = await db
    .selectFrom('outbox_events')
    .select([
      sql<string>`count(*)`.as('total'),
      sql<string>`count(*) FILTER (WHERE published_at IS NOT NULL)`.as('published'),
      sql<string>`count(*) FILTER (WHERE parked_at IS NOT NULL)`.as('parked'),
      sql<string>`count(*) FILTER (WHERE published_at IS NULL AND parked_at IS NULL)`.as('pending'),
    ])
    .executeTakeFirstOrThrow();
  return { total: Number(row.total), published: Number(row.published), parked: Number(row.parked), pending: Number(row.pending) };
}

/** The record the relay left of a published row, by its event id (undefined while it is unpublished). */
export function publishedRecord(db: Db, eventId: string) {
  return db.selectFrom('outbox_published').selectAll().where('event_id', '=', eventId).executeTakeFirst();
}
