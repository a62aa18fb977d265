import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { sql } from 'kysely';
import { Connection } from 'rabbitmq-client';
import {
  blockBrokerPublishers,
  createTestDatabase,
  createTestVhost,
  rabbitmqctl,
  startTcpProxy,
  waitFor,
  type TcpProxy,
  type TestDatabase,
  type TestVhost,
  unblockBrokerPublishers,
} from '@order-service/testkit';
import { withDeadline } from '@order-service/shared';
import { TEST_SETTINGS, auditReport, insertEvents, insertOrderEvent, outboxState, publishedRecord, startAudit, startTestRelay, type Audit } from './support';

/** Every committed row reached the audit queue, none arrived that was not committed; duplicates are printed. */
async function expectNothingLost(database: TestDatabase, audit: Audit, what: string) {
  const report = await waitFor(
    async () => {
      const current = await auditReport(database.db, audit);
      return current.lost.length === 0 ? current : undefined;
    },
    { timeoutMs: 30_000, what: `every committed event on the audit queue (${what})` },
  ).catch(async (error: unknown) => {
    const current = await auditReport(database.db, audit);
    throw new Error(`${(error as Error).message}: lost ${current.lost.length} of ${current.committed}`);
  });
  // At-least-once: a cut can repeat what was unconfirmed. Reported, not failed.
  // eslint-disable-next-line no-console
  console.log(`      ${what}: committed ${report.committed}, received ${report.received}, lost 0, duplicates ${report.duplicates.length}`);
  expect(report.unexpected).to.deep.equal([]);
  expect(report.reordered).to.deep.equal([]);
}

/** Publishes one order through the running relay: it is connected, declared and publishing. */
async function publishOne(database: TestDatabase, audit: Audit) {
  const row = await insertOrderEvent(database.db);
  await waitFor(() => audit.messages.some((m) => m.messageId === row.eventId), { timeoutMs: 20_000, what: 'a first publish' });
  // The broker confirms before the relay settles: the row counts as published only once its settle committed.
  await waitFor(() => publishedRecord(database.db, row.eventId), { timeoutMs: 20_000, what: 'the first publish to be settled' });
}

describe('relay under failures (Postgres + RabbitMQ + TCP proxies)', function () {
  this.timeout(60_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let audit: Audit;
  let amqpProxy: TcpProxy;
  let pgProxy: TcpProxy;

  before(async () => {
    [database, vhost, amqpProxy, pgProxy] = await Promise.all([
      createTestDatabase('relayfail'),
      createTestVhost('relayfail'),
      startTcpProxy('127.0.0.1', 5672),
      startTcpProxy('127.0.0.1', 5432),
    ]);
    audit = await startAudit(vhost.url);
  });
  after(async () => {
    // A test that timed out while the broker was blocked never reached its `finally`.
    await unblockBrokerPublishers();
    await audit?.close();
    await Promise.all([amqpProxy?.close(), pgProxy?.close()]);
    await Promise.all([database?.drop(), vhost?.drop()]);
  });

  it('retries a failing row with backoff, parks it after the last attempt, and publishes it once redriven', async () => {
    const exchange = `missing-${randomUUID().slice(0, 8)}`;
    const relay = await startTestRelay({
      databaseUrl: database.url,
      rabbitUrl: vhost.url,
      // A poll of a minute: the relay must wake itself when a retry comes due, and the redrive's NOTIFY wakes it.
      settings: { maxAttempts: 3, backoff: { baseMs: 200, maxMs: 1_000 }, pollIntervalMs: 60_000 },
    });
    try {
      const startedAt = Date.now();
      const poison = await insertOrderEvent(database.db, { exchange });
      const good = await Promise.all([1, 2, 3].map(() => insertOrderEvent(database.db)));
      const parked = await waitFor(
        () => database.db.selectFrom('outbox').selectAll().where('event_id', '=', poison.eventId).where('parked_at', 'is not', null).executeTakeFirst(),
        { timeoutMs: 20_000, what: 'the failing row to be parked' },
      );
      // Two waits of at least half their backoff ceiling (200 ms, then 400 ms) came first.
      expect(Date.now() - startedAt).to.be.at.least(300);
      expect(parked.attempts).to.equal(3);
      expect(parked.locked_until).to.equal(null);
      expect(parked.last_error).to.match(/NOT_FOUND|no exchange/i);
      // The counters move right after the row's UPDATE commits.
      await waitFor(async () => (await relay.metric('relay_parked_total')) === 1, { what: 'relay_parked_total = 1' });
      expect(await relay.metric('relay_retried_total')).to.equal(2);
      // The rows published alongside it were not dragged down by it.
      await waitFor(() => good.every((g) => audit.messages.some((m) => m.messageId === g.eventId)), { what: 'the good rows' });

      // An operator fixes the cause and redrives the row (what `pnpm ops outbox redrive` does).
      const admin = new Connection({ url: vhost.url, connectionName: 'relay-test-admin' });
      await admin.exchangeDeclare({ exchange, type: 'topic', durable: true });
      await admin.close();
      await database.db
        .updateTable('outbox')
        .set({ parked_at: null, attempts: 0, next_attempt_at: sql<Date>`now()` })
        .where('event_id', '=', poison.eventId)
        .execute();
      const record = await waitFor(() => publishedRecord(database.db, poison.eventId), { timeoutMs: 20_000, what: 'the redriven row to be published' });
      expect(record.attempts, 'counted again from the redrive').to.equal(1);
    } finally {
      await relay.stop();
    }
  });

  it('loses nothing when the broker connection is cut during a drain, and resumes by itself', async () => {
    const relay = await startTestRelay({ databaseUrl: database.url, rabbitUrl: amqpProxy.url(vhost.url) });
    try {
      const before = await outboxState(database.db);
      await insertEvents(database.db, 3_000);
      await waitFor(async () => (await outboxState(database.db)).published > before.published + 300, { timeoutMs: 20_000, what: 'the drain to start' });
      amqpProxy.cut();
      await waitFor(() => !relay.connection.ready, { what: 'the relay to notice the cut' });
      amqpProxy.restore();
      await waitFor(async () => (await outboxState(database.db)).pending === 0, { timeoutMs: 40_000, what: 'the backlog to drain after the cut' });
      await expectNothingLost(database, audit, 'broker cut');
    } finally {
      amqpProxy.restore();
      await relay.stop();
    }
  });

  it('never marks a row the broker has not confirmed: a stalled broker leaves rows pending until it answers', async () => {
    const relay = await startTestRelay({ databaseUrl: database.url, rabbitUrl: amqpProxy.url(vhost.url) });
    try {
      await publishOne(database, audit);
      const before = await outboxState(database.db);
      amqpProxy.stall();
      const rows = await Promise.all(Array.from({ length: 10 }, () => insertOrderEvent(database.db)));
      // Every row has been sent and has timed out at least once: still nothing is marked.
      await waitFor(async () => (await relay.metric('relay_retried_total')) >= 10, { timeoutMs: 20_000, what: 'publish timeouts' });
      const during = await outboxState(database.db);
      expect(during.published).to.equal(before.published);
      expect(audit.messages.filter((m) => rows.some((r) => r.eventId === m.messageId))).to.have.length(0);
      amqpProxy.restore();
      await waitFor(async () => (await outboxState(database.db)).pending === 0, { timeoutMs: 30_000, what: 'the rows after the stall' });
      await expectNothingLost(database, audit, 'broker stall');
    } finally {
      amqpProxy.restore();
      await relay.stop();
    }
  });

  it('holds rows while the broker blocks publishers (memory alarm), claims nothing more until it unblocks, then drains', async () => {
    const relay = await startTestRelay({ databaseUrl: database.url, rabbitUrl: vhost.url });
    await publishOne(database, audit);
    // The audit queue can see the first event before the relay has marked its row.
    await waitFor(async () => (await outboxState(database.db)).pending === 0, { timeoutMs: 10_000, what: 'the first row marked' });
    const before = await outboxState(database.db);
    // The alarm is broker-wide: keep it short, and lift it even when this test fails (and in `after`).
    // The broker tells a connection it is blocked only once it publishes into the block, and
    // the relay's publish may time out before that notice arrives; what it claims after the
    // notice is what counts.
    const noticed = new Promise<void>((resolve) => relay.connection.once('connection.blocked', () => resolve()));
    try {
      await blockBrokerPublishers();
      await waitFor(async () => (await rabbitmqctl('eval', 'rabbit_alarm:get_alarms().')).includes('memory'), {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the memory alarm',
      });
      await insertEvents(database.db, 50);
      // Wait until the relay has sent into the block and given up at least once (publish timeout).
      await waitFor(async () => (await relay.metric('relay_retried_total')) > 0 || !relay.connection.ready, {
        timeoutMs: 15_000,
        what: 'the relay to meet the block',
      });
      await withDeadline(noticed, 15_000, 'the broker (to tell the relay it is blocked)');
      const during = await outboxState(database.db);
      expect(during.published).to.equal(before.published);
      // The batches sent into the block hold their claim only until their publish times out;
      // after that the blocked relay claims nothing, so no transaction opens again.
      const openClaims = async () => {
        const { rows } = await sql<{ n: string }>`
          SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ${database.name} AND state LIKE 'idle in transaction%'`.execute(database.db);
        return Number(rows[0]!.n);
      };
      await waitFor(async () => (await openClaims()) === 0, { timeoutMs: 3 * TEST_SETTINGS.publishTimeoutMs, what: 'the claims sent into the block to end' });
      // Counted as claims, not as retried rows: a batch sent before the notice is counted as
      // retried only after its transaction ended, which on a busy machine can come after this.
      const claimsBefore = await relay.metric('relay_claims_total');
      await new Promise((resolve) => setTimeout(resolve, 2 * TEST_SETTINGS.publishTimeoutMs));
      expect(await openClaims(), 'claims open while blocked').to.equal(0);
      expect(await relay.metric('relay_claims_total'), 'claims made while blocked').to.equal(claimsBefore);
    } finally {
      await unblockBrokerPublishers();
    }
    try {
      await waitFor(async () => (await outboxState(database.db)).pending === 0, { timeoutMs: 30_000, what: 'the backlog after the block' });
      await expectNothingLost(database, audit, 'broker blocked');
    } finally {
      await relay.stop();
    }
  });

  it('rides out a Postgres outage, re-LISTENs, and is woken by NOTIFY again afterwards', async () => {
    // A poll of a minute: after the outage only the re-established LISTEN can wake it quickly.
    const relay = await startTestRelay({
      databaseUrl: pgProxy.url(database.url),
      rabbitUrl: vhost.url,
      settings: { pollIntervalMs: 60_000 },
    });
    try {
      const before = await outboxState(database.db);
      await insertEvents(database.db, 2_000);
      await waitFor(async () => (await outboxState(database.db)).published > before.published + 200, { timeoutMs: 20_000, what: 'the drain to start' });
      pgProxy.cut();
      // A deliberate outage of a second, during which more orders commit.
      await insertEvents(database.db, 100);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      pgProxy.restore();
      await waitFor(async () => (await outboxState(database.db)).pending === 0, { timeoutMs: 30_000, what: 'the backlog after the outage' });
      const late = await insertOrderEvent(database.db);
      await waitFor(() => audit.messages.some((m) => m.messageId === late.eventId), { timeoutMs: 10_000, what: 'a NOTIFY-driven publish' });
      await expectNothingLost(database, audit, 'postgres outage');
    } finally {
      pgProxy.restore();
      await relay.stop();
    }
  });
});
