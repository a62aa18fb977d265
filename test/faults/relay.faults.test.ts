import { expect } from 'chai';
import { sql } from 'kysely';
import { unblockBrokerPublishers, waitFor, withBrokerBlocked } from '@order-service/testkit';
import { deleteOrdersExchange, restoreOrdersExchange } from './support/broker';
import { idleTransactions } from './support/ledger';
import { scenario, sharedSystem, unaudited } from './support/scenario';
import type { FaultSystem } from './support/system';
import { placeOrders, startTraffic, type Traffic } from './support/traffic';

/** Rows recorded as published whose event the audit queue has not seen: each one was settled without a confirm. */
async function markedUnseen(system: FaultSystem): Promise<number> {
  const rows = await system.database.db.selectFrom('outbox_published').select('event_id').execute();
  return rows.filter((row) => !system.audit.events.has(row.event_id)).length;
}

/** While the relay is cut off or blocked: every row it settled as published was confirmed (so it reached the audit queue). */
async function expectNothingMarkedWithoutConfirm(system: FaultSystem) {
  await waitFor(async () => (await markedUnseen(system)) === 0, { timeoutMs: 20_000, what: 'every marked row to have been delivered' });
}

/** Outbox rows of these orders recorded as published. */
async function publishedRows(system: FaultSystem, orderIds: string[]): Promise<number> {
  const row = await system.database.db
    .selectFrom('outbox_published')
    .select(sql<number>`count(*)::int`.as('n'))
    .where('aggregate_id', 'in', orderIds)
    .executeTakeFirstOrThrow();
  return row.n;
}

async function expectNoIdleTransaction(system: FaultSystem) {
  expect(await idleTransactions(system, 1), 'sessions idle in a transaction').to.deep.equal([]);
}

/** Background traffic that has already reached the audit queue, so the fault hits a relay at work. */
async function busyTraffic(system: FaultSystem): Promise<Traffic> {
  const traffic = startTraffic(system, { concurrency: 3 });
  await waitFor(() => traffic.accepted.length >= 20 && unaudited(system, traffic.accepted.slice(0, 20)).length === 0, {
    timeoutMs: 60_000,
    what: 'traffic to flow',
  });
  return traffic;
}

/** Lets the traffic run until `more` further orders were accepted during the fault. */
const acceptedMore = (traffic: Traffic, more: number) => {
  const target = traffic.accepted.length + more;
  return waitFor(() => traffic.accepted.length >= target, { timeoutMs: 60_000, what: `${more} more orders` });
};

describe('faults: the relay', () => {
  let system: FaultSystem;
  before(async () => {
    system = await sharedSystem();
  });
  // A scenario that times out inside withBrokerBlocked never reaches its `finally`: lift the block here.
  after(() => unblockBrokerPublishers());

  it('killed after the broker confirmed a batch and before marking it: nothing lost, the payment applied once', async () => {
    const numbers = await scenario(system, 'relay-crash-after-confirm', async () => {
      await system.stop('relay');
      const ids = await placeOrders(system, 150);
      const crashing = system.spawn('relay', { RELAY_CRASH_POINT: 'after-confirm', RELAY_BATCH_SIZE: '50' });
      await waitFor(() => !crashing.running, { timeoutMs: 60_000, what: 'the relay to reach its crash point' }).finally(() => crashing.kill());
      // It died with confirmed messages on the wire and none of its rows marked.
      await waitFor(() => unaudited(system, ids).length < ids.length, { timeoutMs: 20_000, what: 'the confirmed batch in the audit queue' });
      expect(await publishedRows(system, ids), 'rows marked by the killed relay').to.equal(0);
      await system.start('relay');
    });
    // The confirmed but unmarked rows were published again once the killed claim was rolled back.
    expect(numbers.duplicated).to.be.greaterThan(0);
  });

  it('killed mid-batch before publishing: nothing lost, nothing published twice is applied twice', async () => {
    await scenario(system, 'relay-crash-before-publish', async () => {
      await system.stop('relay');
      const ids = await placeOrders(system, 150);
      const crashing = system.spawn('relay', { RELAY_CRASH_POINT: 'before-publish', RELAY_BATCH_SIZE: '50' });
      await waitFor(() => !crashing.running, { timeoutMs: 60_000, what: 'the relay to reach its crash point' }).finally(() => crashing.kill());
      // Its log line may be lost with it (SIGKILL does not flush); the signal is the proof.
      expect(await crashing.exited, 'it killed itself at its crash point, after claiming').to.equal(137);
      expect(unaudited(system, ids)).to.have.length(ids.length);
      await system.start('relay');
    });
  });

  it('its broker connection closed mid-drain: nothing marked without a confirm, no idle transaction, all drains', async () => {
    await scenario(system, 'relay-broker-connection-cut', async () => {
      const traffic = await busyTraffic(system);
      try {
        system.proxies.relayAmqp.cut();
        try {
          await acceptedMore(traffic, 30);
          await expectNothingMarkedWithoutConfirm(system);
          await expectNoIdleTransaction(system);
        } finally {
          system.proxies.relayAmqp.restore();
        }
        await acceptedMore(traffic, 10);
      } finally {
        await traffic.stop();
      }
    });
  });

  it('the broker blocking publishers (memory alarm): nothing marked without a confirm, no idle transaction, all drains', async () => {
    await scenario(system, 'relay-broker-blocked', async () => {
      const traffic = await busyTraffic(system);
      try {
        const logged = system.processes.relay!.logs.length;
        await withBrokerBlocked(async () => {
          await waitFor(() => system.processes.relay!.logs.slice(logged).some((line) => line.msg === 'rabbitmq is blocking publishers'), {
            timeoutMs: 20_000,
            what: 'the relay to be blocked',
          });
          await acceptedMore(traffic, 10);
          await expectNoIdleTransaction(system);
        });
        await expectNothingMarkedWithoutConfirm(system);
        await acceptedMore(traffic, 10);
      } finally {
        await traffic.stop();
      }
    });
  });

  it('the orders exchange deleted mid-batch: publishes fail, nothing is marked, all drains once it is back', async () => {
    await scenario(system, 'relay-exchange-deleted', async () => {
      const traffic = await busyTraffic(system);
      try {
        const relay = system.processes.relay!;
        const logged = relay.logs.length;
        await deleteOrdersExchange(system);
        try {
          await waitFor(() => relay.logs.slice(logged).some((line) => line.msg === 'publishing failed; rows will be retried'), {
            timeoutMs: 30_000,
            what: 'publishes to fail',
          });
          await acceptedMore(traffic, 10);
          await expectNothingMarkedWithoutConfirm(system);
          await expectNoIdleTransaction(system);
        } finally {
          await restoreOrdersExchange(system);
        }
        await acceptedMore(traffic, 10);
      } finally {
        await traffic.stop();
      }
    });
  });
});
