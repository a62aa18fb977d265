import { expect } from 'chai';
import { sql } from 'kysely';
import { createTestDatabase, createTestVhost, startService, waitFor, type ServiceProcess, type TestDatabase, type TestVhost } from '@order-service/testkit';
import { auditReport, insertEvents, outboxState, startAudit, type Audit } from './support';

const RELAY = 'services/relay/src/main.ts';

describe('relay process: SIGTERM and SIGKILL during a drain', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let audit: Audit;
  let env: Record<string, string>;
  const started: ServiceProcess[] = [];
  const start = async (extra: Record<string, string> = {}) => {
    const relay = await startService(RELAY, { ...env, ...extra });
    started.push(relay);
    return relay;
  };

  /** Restarts a clean relay and waits until everything committed has been published and received. */
  async function restartAndAudit(what: string) {
    const relay = await start();
    await waitFor(async () => (await outboxState(database.db)).pending === 0, { timeoutMs: 60_000, what: `the backlog after the restart (${what})` });
    const report = await waitFor(
      async () => {
        const current = await auditReport(database.db, audit);
        return current.lost.length === 0 ? current : undefined;
      },
      { timeoutMs: 20_000, what: `every committed event on the audit queue (${what})` },
    );
    // eslint-disable-next-line no-console
    console.log(`      ${what}: committed ${report.committed}, received ${report.received}, lost 0, duplicates ${report.duplicates.length}`);
    expect(report.unexpected).to.deep.equal([]);
    expect(await relay.stop('SIGTERM')).to.equal(0);
    return report;
  }

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('relaycrash'), createTestVhost('relaycrash')]);
    audit = await startAudit(vhost.url);
    // A short lease, so rows held by a dead relay come back within seconds.
    env = {
      DATABASE_URL: database.url,
      RABBITMQ_URL: vhost.url,
      PORT: '0',
      DB_POOL_MAX: '4',
      RELAY_BATCH_SIZE: '200',
      RELAY_POLL_INTERVAL_MS: '200',
      RELAY_PUBLISH_TIMEOUT_MS: '1000',
      RELAY_LEASE_MS: '2000',
    };
  });
  after(async () => {
    await Promise.all(started.map((relay) => relay.stop('SIGKILL')));
    await audit?.close();
    await Promise.all([database?.drop(), vhost?.drop()]);
  });

  /** Outbox rows some transaction holds locked (a claim in flight); SKIP LOCKED passes them over. */
  async function claimedRows(): Promise<number> {
    const { rows } = await sql<{ n: number }>`
      SELECT (SELECT count(*)::int FROM outbox) - (SELECT count(*)::int FROM (SELECT id FROM outbox FOR UPDATE SKIP LOCKED) AS free) AS n`.execute(database.db);
    return rows[0]!.n;
  }

  it('on SIGTERM mid-drain a relay finishes the batches in flight, leaves no row claimed, and exits 0', async () => {
    // Small batches, so the drain is still under way when the signal lands.
    const relay = await start({ RELAY_BATCH_SIZE: '20', RELAY_MAX_BATCHES_IN_FLIGHT: '2' });
    await insertEvents(database.db, 5_000);
    await waitFor(async () => (await outboxState(database.db)).published >= 300, { timeoutMs: 30_000, what: 'the drain to be under way' });
    expect(await relay.stop('SIGTERM')).to.equal(0);
    expect(await claimedRows(), 'rows still claimed').to.equal(0);
    expect((await outboxState(database.db)).pending).to.be.greaterThan(0);
    expect(relay.logs.some((line) => line.msg === 'relay stopped')).to.equal(true);
    await restartAndAudit('SIGTERM mid-drain');
  });

  it('a relay killed mid-drain loses nothing once a relay runs again', async () => {
    const relay = await start();
    await insertEvents(database.db, 5_000);
    await waitFor(async () => (await outboxState(database.db)).published >= 500, { timeoutMs: 30_000, what: 'the drain to be under way' });
    expect(await relay.stop('SIGKILL')).to.equal(null);
    const left = await outboxState(database.db);
    expect(left.pending).to.be.greaterThan(0);
    await restartAndAudit('SIGKILL mid-drain');
  });

  it('a relay that dies between the confirm and the mark republishes that batch, and loses nothing', async () => {
    const before = await outboxState(database.db);
    const relay = await start({ RELAY_CRASH_POINT: 'after-confirm' });
    await insertEvents(database.db, 1_000);
    // The relay SIGKILLed itself.
    expect(await relay.exited).to.equal(null);
    // The broker confirmed the first batch, but no row of it was marked.
    expect((await outboxState(database.db)).published).to.equal(before.published);
    const report = await restartAndAudit('crash after confirm');
    expect(report.duplicates.length).to.be.greaterThan(0);
  });

  it('a relay that dies after claiming, before sending, frees its rows at once for the next relay', async () => {
    const relay = await start({ RELAY_CRASH_POINT: 'before-publish' });
    const received = audit.messages.length;
    await insertEvents(database.db, 500);
    expect(await relay.exited).to.equal(null);
    expect(audit.messages.length).to.equal(received);
    // Its claim died with its transaction: nothing is held, nothing waits out a lease.
    await waitFor(async () => (await claimedRows()) === 0, { timeoutMs: 5_000, what: 'the killed claim to be rolled back' });
    await restartAndAudit('crash before publish');
  });
});
