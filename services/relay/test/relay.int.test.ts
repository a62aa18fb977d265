import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import pg from 'pg';
import * as v from 'valibot';
import { OrderCreated, Topology, createLogger, notifyOutbox, systemClock } from '@order-service/shared';
import { createTestDatabase, createTestVhost, waitFor, type TestDatabase, type TestVhost } from '@order-service/testkit';
import { createRelayMetrics } from '../src/metrics';
import { createStatsGuard } from '../src/stats-guard';
import { auditReport, insertEvents, insertOrderEvent, outboxState, publishedRecord, startAudit, startTestRelay, type Audit } from './support';

describe('relay (Postgres + RabbitMQ)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let audit: Audit;

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('relay'), createTestVhost('relay')]);
    audit = await startAudit(vhost.url);
  });
  after(async () => {
    await audit?.close();
    await Promise.all([database?.drop(), vhost?.drop()]);
  });

  it('publishes a committed order once, with the contract properties, and removes it from the outbox only after the confirm', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const inOutboxAtConfirm: string[] = [];
    // The poll is a minute: only the NOTIFY can deliver this within the test's deadline.
    const relay = await startTestRelay({
      databaseUrl: database.url,
      rabbitUrl: vhost.url,
      settings: { pollIntervalMs: 60_000 },
      // Between the confirm and the settle, the rows must still be in the outbox, and not recorded as published.
      onCrashPoint: async (point, rows) => {
        if (point !== 'after-confirm') return;
        const ids = rows.map((row) => row.id);
        const [found, recorded] = await Promise.all([
          database.db.selectFrom('outbox').select('event_id').where('id', 'in', ids).execute(),
          database.db.selectFrom('outbox_published').select('event_id').where('id', 'in', ids).execute(),
        ]);
        inOutboxAtConfirm.push(...found.map((row) => row.event_id), ...recorded.map((row) => `recorded ${row.event_id}`));
      },
    });
    try {
      await waitFor(() => relay.connection.ready, { what: 'relay broker connection' });
      const order = await insertOrderEvent(database.db, { traceparent, tracestate: 'vendor=abc' });
      const message = await waitFor(() => audit.messages.find((m) => m.messageId === order.eventId), {
        timeoutMs: 10_000,
        what: 'the event on the audit queue',
      });
      expect(message.exchange).to.equal(Topology.ordersExchange);
      expect(message.routingKey).to.equal(Topology.orderCreatedKey);
      expect(message.contentType).to.equal('application/json');
      expect(message.correlationId).to.equal(order.orderId);
      expect(message.type).to.equal('OrderCreated');
      expect(message.durable).to.equal(true);
      expect(message.headers).to.include({ traceparent, tracestate: 'vendor=abc' });
      const body = Buffer.isBuffer(message.body) ? message.body.toString() : JSON.stringify(message.body);
      expect(body).to.equal(order.payload);
      expect(v.is(OrderCreated, JSON.parse(body))).to.equal(true);

      const record = await waitFor(() => publishedRecord(database.db, order.eventId), { what: 'the row recorded as published' });
      expect(record).to.include({ id: order.id, aggregate_id: order.orderId, event_type: 'OrderCreated', attempts: 1 });
      expect(record.published_at).to.be.instanceOf(Date);
      // The row's created_at, in whole seconds (the AMQP timestamp's unit).
      expect(message.timestamp).to.equal(Math.floor(record.created_at.getTime() / 1000));
      expect(await database.db.selectFrom('outbox').select('id').where('id', '=', order.id).executeTakeFirst(), 'the row left the outbox').to.equal(undefined);
      expect(inOutboxAtConfirm).to.deep.equal([order.eventId]);
      expect(audit.messages.filter((m) => m.messageId === order.eventId)).to.have.length(1);
      // The counter moves right after the settle commits.
      await waitFor(async () => (await relay.metric('relay_published_total')) === 1, { what: 'relay_published_total = 1' });
    } finally {
      await relay.stop();
    }
  });

  it('an exclusive lock queued while a batch is on the wire (a migration) waits for the batch instead of deadlocking', async () => {
    const ddl = new pg.Client({ connectionString: database.url, application_name: 'relay-test-ddl' });
    await ddl.connect();
    let altered: Promise<unknown> | undefined;
    const relay = await startTestRelay({
      databaseUrl: database.url,
      rabbitUrl: vhost.url,
      // Once the batch is confirmed, and before it is settled, an ALTER TABLE queues behind the claim.
      onCrashPoint: async (point) => {
        if (point !== 'after-confirm' || altered) return;
        altered = ddl.query('ALTER TABLE outbox ALTER COLUMN last_error SET DEFAULT NULL');
        await waitFor(
          async () => {
            const { rows } = await sql<{ n: number }>`
              SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'relay-test-ddl' AND wait_event_type = 'Lock'`.execute(database.db);
            return rows[0]!.n === 1;
          },
          { what: 'the ALTER TABLE to wait for the claim' },
        );
      },
    });
    try {
      const row = await insertOrderEvent(database.db);
      await waitFor(() => publishedRecord(database.db, row.eventId), { what: 'the batch settled' });
      await altered;
      expect(await relay.metric('relay_retried_total'), 'nothing failed').to.equal(0);
    } finally {
      await relay.stop();
      await ddl.end();
    }
  });

  it('refreshes the outbox statistics before claiming a backlog that appeared at once', async () => {
    // Statistics of an empty table make the claim's plan scan every pending row per candidate.
    const relay = await startTestRelay({ databaseUrl: database.url, rabbitUrl: vhost.url, settings: { batchSize: 100 } });
    try {
      await waitFor(() => relay.connection.ready, { what: 'relay broker connection' });
      const before = await outboxState(database.db);
      await insertEvents(database.db, 1_000);
      await waitFor(async () => (await outboxState(database.db)).published === before.published + 1_000, {
        timeoutMs: 30_000,
        what: 'the backlog to drain',
      });
      const { rows } = await sql<{ analyzed: boolean }>`
        SELECT last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables WHERE relname = 'outbox'`.execute(database.db);
      expect(rows[0]?.analyzed).to.equal(true);
    } finally {
      await relay.stop();
    }
  });

  it('after a slow claim, claims stay probe-sized until the outbox statistics are refreshed', async () => {
    const guard = createStatsGuard(database.db, createLogger('relay-test', 'silent'), systemClock, { batchSize: 500, probeSize: 8 });
    const lastAnalyze = async () =>
      (await sql<{ at: Date | null }>`SELECT last_analyze AS at FROM pg_stat_user_tables WHERE relname = 'outbox'`.execute(database.db)).rows[0]?.at ?? null;
    expect(guard.limit(true)).to.equal(8);
    expect(guard.limit(false)).to.equal(500);
    const before = await lastAnalyze();
    guard.afterClaim({ afterIdle: false, rows: 3, limit: 500, ms: 4_000 });
    expect(guard.limit(false)).to.equal(8);
    await guard.settled();
    const after = await lastAnalyze();
    expect(after).to.be.instanceOf(Date);
    expect(after).to.not.deep.equal(before);
    expect(guard.limit(false)).to.equal(500);
  });

  it('publishes a row committed late (a lower id becoming visible after higher ones were published)', async () => {
    const relay = await startTestRelay({ databaseUrl: database.url, rabbitUrl: vhost.url });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let written!: (row: Awaited<ReturnType<typeof insertOrderEvent>>) => void;
    const lateRow = new Promise<Awaited<ReturnType<typeof insertOrderEvent>>>((resolve) => (written = resolve));
    const held = database.db.transaction().execute(async (trx) => {
      written(await insertOrderEvent(trx));
      await gate;
    });
    try {
      const late = await lateRow;
      const others: Array<Awaited<ReturnType<typeof insertOrderEvent>>> = [];
      for (let i = 0; i < 20; i++) others.push(await insertOrderEvent(database.db));
      const received = () => new Set(audit.messages.map((m) => String(m.messageId)));
      await waitFor(() => others.every((o) => received().has(o.eventId)), { timeoutMs: 20_000, what: 'the 20 later rows' });
      expect(others.every((o) => BigInt(o.id) > BigInt(late.id))).to.equal(true);
      expect(received().has(late.eventId)).to.equal(false);

      release();
      await held;
      await waitFor(() => received().has(late.eventId), { timeoutMs: 20_000, what: 'the late row to be published' });
      const ids = [late, ...others].map((o) => o.eventId);
      expect(audit.messages.filter((m) => ids.includes(String(m.messageId)))).to.have.length(21);
    } finally {
      release();
      await held.catch(() => {});
      await relay.stop();
    }
  });

  it('under steady load, publishes a row that committed just after later rows without waiting for the claim from the start', async () => {
    // Claims from the start come only once a minute, and the steady writes keep every claim
    // busy: only a floor that waits for commits running behind finds the late row.
    const relay = await startTestRelay({ databaseUrl: database.url, rabbitUrl: vhost.url, settings: { pollIntervalMs: 60_000 } });
    const received = () => new Set(audit.messages.map((m) => String(m.messageId)));
    let writing = true;
    const steady: Array<Awaited<ReturnType<typeof insertOrderEvent>>> = [];
    const writer = (async () => {
      while (writing) {
        steady.push(await insertOrderEvent(database.db));
        await new Promise((resolve) => setTimeout(resolve, 4));
      }
    })();
    try {
      await waitFor(() => steady.filter((o) => received().has(o.eventId)).length >= 50, { timeoutMs: 10_000, what: 'the relay to publish the steady rows' });
      const late = await database.db.transaction().execute(async (trx) => {
        const row = await insertOrderEvent(trx);
        // Held until the relay has published a row written after it and every row written before
        // it: then every row a claim can see lies above it, and a floor taken from the last claim
        // alone would pass over it.
        const after = BigInt(row.id);
        await waitFor(
          () =>
            steady.some((o) => BigInt(o.id) > after && received().has(o.eventId)) &&
            steady.every((o) => BigInt(o.id) > after || received().has(o.eventId)),
          { timeoutMs: 5_000, intervalMs: 1, what: 'the rows around it to be published' },
        );
        return row;
      });
      const committedAt = performance.now();
      await notifyOutbox(database.db);
      await waitFor(() => received().has(late.eventId), { timeoutMs: 5_000, what: 'the late row to be published while the writes go on' });
      expect(performance.now() - committedAt).to.be.below(1_000);
      writing = false;
      await writer;
      // Nothing left behind for the next test's relays.
      await waitFor(() => steady.every((o) => received().has(o.eventId)), { timeoutMs: 10_000, what: 'every steady row to be published' });
    } finally {
      writing = false;
      await writer;
      await relay.stop();
    }
  });

  it('two relays publish every row once and keep the events of each order in order', async () => {
    const before = await outboxState(database.db);
    // Three events per order and small batches, so the events of one order span batches and relays.
    await insertEvents(database.db, 600, 3);
    const settings = { batchSize: 40, maxBatchesInFlight: 3 };
    const relays = await Promise.all([1, 2].map(() => startTestRelay({ databaseUrl: database.url, rabbitUrl: vhost.url, settings })));
    try {
      await waitFor(async () => (await outboxState(database.db)).published === before.total + 600, {
        timeoutMs: 40_000,
        what: 'all 600 rows published',
      });
      const report = await waitFor(
        async () => {
          const current = await auditReport(database.db, audit);
          return current.lost.length === 0 ? current : undefined;
        },
        { timeoutMs: 20_000, what: 'every committed event on the audit queue' },
      );
      if (report.duplicates.length > 0) console.warn(`duplicates: ${report.duplicates.join(', ')}`); // eslint-disable-line no-console
      expect(report.lost).to.deep.equal([]);
      expect(report.unexpected).to.deep.equal([]);
      expect(report.duplicates).to.deep.equal([]);
      expect(report.reordered).to.deep.equal([]);
      const publishedTotal = async () => (await Promise.all(relays.map((r) => r.metric('relay_published_total')))).reduce((a, b) => a + b, 0);
      await waitFor(async () => (await publishedTotal()) === 600, { what: 'relay_published_total summing to 600' });
    } finally {
      await Promise.all(relays.map((r) => r.stop()));
    }
  });

  it('reports the backlog, the oldest pending age and parked rows in its metrics', async () => {
    // No relay runs: the rows stay pending, and the gauges are read from the table when scraped.
    await insertEvents(database.db, 25);
    await database.db
      .updateTable('outbox')
      .set({ parked_at: new Date(), last_error: 'test' })
      .where('id', '=', (eb) => eb.selectFrom('outbox').select((e) => e.fn.max('id').as('id')))
      .execute();
    const metrics = createRelayMetrics(database.db, systemClock);
    const text = await metrics.registry.metrics();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('relay_outbox_backlog')).to.equal(24);
    expect(value('relay_outbox_oldest_age_seconds')).to.be.greaterThan(0);
    expect(value('relay_outbox_parked')).to.equal(1);
    for (const name of ['relay_published_total', 'relay_retried_total', 'relay_parked_total', 'relay_commit_to_confirm_seconds_bucket']) {
      expect(text).to.contain(name);
    }
    await database.db.deleteFrom('outbox').execute();
  });

  it('counts parked rows again only once 30 s have passed since the last count', async () => {
    let now = 1_000_000;
    const metrics = createRelayMetrics(database.db, { now: () => now });
    const park = async () => {
      const row = await insertOrderEvent(database.db);
      await database.db.updateTable('outbox').set({ parked_at: new Date(), last_error: 'test' }).where('event_id', '=', row.eventId).execute();
    };
    const parked = async () => Number(/^relay_outbox_parked (\S+)$/m.exec(await metrics.registry.metrics())?.[1]);
    await park();
    expect(await parked()).to.equal(1);
    await park();
    now += 29_000;
    expect(await parked(), 'within 30 s: the last count').to.equal(1);
    now += 1_001;
    expect(await parked(), 'after 30 s: counted again').to.equal(2);
    await database.db.deleteFrom('outbox').execute();
  });

  it('deletes the records of published rows past the retention, never a younger record, a pending or a parked row', async () => {
    const record = (hoursAgo: number) => ({
      id: String(900_000_000 + hoursAgo),
      event_id: randomUUID(),
      event_type: 'OrderCreated',
      aggregate_id: randomUUID(),
      exchange: 'orders',
      routing_key: 'order.created',
      created_at: new Date(Date.now() - hoursAgo * 3_600_000),
      attempts: 1,
      published_at: new Date(Date.now() - hoursAgo * 3_600_000),
    });
    const [old, young] = [record(3), record(1)];
    await database.db.insertInto('outbox_published').values([old, young]).execute();
    const parked = await insertOrderEvent(database.db);
    await database.db.updateTable('outbox').set({ parked_at: new Date() }).where('event_id', '=', parked.eventId).execute();
    const pending = await insertOrderEvent(database.db);
    const relay = await startTestRelay({
      databaseUrl: database.url,
      rabbitUrl: vhost.url,
      settings: { retentionMs: 2 * 3_600_000, retentionIntervalMs: 100 },
    });
    try {
      await waitFor(async () => (await publishedRecord(database.db, old.event_id)) === undefined, { timeoutMs: 20_000, what: 'the old record deleted' });
      await waitFor(() => publishedRecord(database.db, pending.eventId), { what: 'the pending row published and recorded' });
      expect(await publishedRecord(database.db, young.event_id), 'a record younger than the retention').to.not.equal(undefined);
      const left = await database.db.selectFrom('outbox').select(['event_id', 'parked_at']).execute();
      expect(left.map((row) => row.event_id)).to.deep.equal([parked.eventId]);
    } finally {
      await relay.stop();
      await database.db.deleteFrom('outbox').execute();
      await database.db.deleteFrom('outbox_published').where('event_id', 'in', [young.event_id, pending.eventId]).execute();
    }
  });
});
