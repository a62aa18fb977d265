import { expect } from 'chai';
import { createTestDatabase, createTestVhost, startService, waitFor, type ServiceProcess, type TestDatabase, type TestVhost } from '@order-service/testkit';
import { auditReport, insertEvents, outboxState, startAudit, type Audit } from './support';

const RELAY = 'services/relay/src/main.ts';

async function scrape(port: number, path: string) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, text: await response.text() };
}

const counter = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);

describe('relay scale-out (three relay processes)', function () {
  this.timeout(120_000);
  let database: TestDatabase;
  let vhost: TestVhost;
  let audit: Audit;
  const relays: ServiceProcess[] = [];

  before(async () => {
    [database, vhost] = await Promise.all([createTestDatabase('relayscale'), createTestVhost('relayscale')]);
    audit = await startAudit(vhost.url);
  });
  after(async () => {
    await Promise.all(relays.map((relay) => relay.stop('SIGKILL')));
    await audit?.close();
    await Promise.all([database?.drop(), vhost?.drop()]);
  });

  it('three relays publish every row of a backlog once, keep each order in order, and stop cleanly on SIGTERM', async () => {
    const env = {
      DATABASE_URL: database.url,
      RABBITMQ_URL: vhost.url,
      PORT: '0',
      DB_POOL_MAX: '4',
      RELAY_BATCH_SIZE: '50',
      RELAY_POLL_INTERVAL_MS: '200',
    };
    relays.push(...(await Promise.all([1, 2, 3].map(() => startService(RELAY, env)))));
    // A backlog of single-event orders at one commit, then orders of three events each while the
    // relays drain, so the events of one order are claimed by different relays.
    await insertEvents(database.db, 1_200);
    for (let i = 0; i < 3; i++) await insertEvents(database.db, 150, 3);
    const total = 1_200 + 3 * 150;

    await waitFor(async () => (await outboxState(database.db)).published === total, { timeoutMs: 60_000, what: `${total} rows published` });
    const report = await waitFor(
      async () => {
        const current = await auditReport(database.db, audit);
        return current.lost.length === 0 ? current : undefined;
      },
      { timeoutMs: 20_000, what: 'every event on the audit queue' },
    );
    // eslint-disable-next-line no-console
    console.log(`      ${total} rows: duplicates ${report.duplicates.length}, reordered orders ${report.reordered.length}`);
    expect(report.lost).to.deep.equal([]);
    expect(report.unexpected).to.deep.equal([]);
    expect(report.duplicates).to.deep.equal([]);
    expect(report.reordered).to.deep.equal([]);
    // Each row was settled by exactly one relay (the counters move right after each settle commits).
    const publishedPerRelay = () => Promise.all(relays.map(async (relay) => counter((await scrape(relay.port, '/metrics')).text, 'relay_published_total')));
    const perRelay = await waitFor(
      async () => {
        const counts = await publishedPerRelay();
        return counts.reduce((a, b) => a + b, 0) === total ? counts : undefined;
      },
      { what: `relay_published_total summing to ${total}` },
    );
    // eslint-disable-next-line no-console
    console.log(`      published per relay ${perRelay.join(' / ')}`);

    for (const relay of relays) {
      expect((await scrape(relay.port, '/healthz')).status).to.equal(200);
      const ready = await scrape(relay.port, '/readyz');
      expect(ready.status, ready.text).to.equal(200);
      const metrics = (await scrape(relay.port, '/metrics')).text;
      expect(counter(metrics, 'relay_outbox_backlog')).to.equal(0);
      for (const name of ['relay_retried_total', 'relay_parked_total', 'relay_outbox_oldest_age_seconds', 'relay_commit_to_confirm_seconds_count', 'process_cpu_seconds_total']) {
        expect(metrics).to.contain(name);
      }
    }
    const codes = await Promise.all(relays.map((relay) => relay.stop('SIGTERM')));
    expect(codes).to.deep.equal([0, 0, 0]);
  });
});
