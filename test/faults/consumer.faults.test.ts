import { expect } from 'chai';
import { sql } from 'kysely';
import { Topology } from '@order-service/shared';
import { waitFor } from '@order-service/testkit';
import { consumerMetric } from './support/payments';
import { scenario, sharedSystem } from './support/scenario';
import type { FaultSystem } from './support/system';
import { placeOrders, startTraffic } from './support/traffic';

/** How many of these orders have had their payment applied. */
async function applied(system: FaultSystem, orderIds: string[]): Promise<number> {
  const row = await system.database.db
    .selectFrom('order_status_history')
    .select(sql<number>`count(DISTINCT order_id)::int`.as('n'))
    .where('order_id', 'in', orderIds)
    .executeTakeFirstOrThrow();
  return row.n;
}

/** With the consumer stopped: places `count` orders and waits until all their payments wait in its queue. */
async function paymentsWaiting(system: FaultSystem, count: number): Promise<string[]> {
  const ids = await placeOrders(system, count);
  await waitFor(async () => (await system.admin.queueDeclare({ queue: Topology.paymentQueue, passive: true })).messageCount >= count, {
    timeoutMs: 60_000,
    what: `${count} payments waiting`,
  });
  return ids;
}

describe('faults: the consumer', () => {
  let system: FaultSystem;
  before(async () => {
    system = await sharedSystem();
  });

  it('killed after its commit and before its ack: the redelivered payment is not applied again', async () => {
    await scenario(system, 'consumer-crash-after-commit', async () => {
      await system.stop('consumer');
      const ids = await paymentsWaiting(system, 100);
      const crashing = system.spawn('consumer', { CONSUMER_CRASH_POINT: 'after-commit' });
      await waitFor(() => !crashing.running, { timeoutMs: 60_000, what: 'the consumer to reach its crash point' }).finally(() => crashing.kill());
      const committed = await applied(system, ids);
      expect(committed, 'payments the killed consumer committed').to.be.greaterThan(0);
      await system.start('consumer');
      await waitFor(async () => (await consumerMetric(system, 'consumer_events_total{outcome="duplicate"}')) >= 1, {
        timeoutMs: 60_000,
        what: 'the redelivery to be recognised as a duplicate',
      });
    });
  });

  it('its Postgres connections terminated mid-batch: every payment applied exactly once', async () => {
    await scenario(system, 'consumer-postgres-terminated', async () => {
      await system.stop('consumer');
      const ids = await paymentsWaiting(system, 200);
      await system.start('consumer');
      let terminated = 0;
      for (const threshold of [1, 40, 100]) {
        let done = 0;
        await waitFor(
          async () => {
            done = await applied(system, ids);
            return done >= threshold;
          },
          { timeoutMs: 60_000, what: `${threshold} payments applied` },
        );
        if (done >= ids.length) break;
        // Only this system's database, only the consumer's sessions.
        const { rows } = await sql<{ n: number }>`
          SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'order-service-consumer'`.execute(system.database.db);
        terminated += rows[0]!.n;
      }
      expect(terminated, 'consumer sessions terminated mid-batch').to.be.greaterThan(0);
    });
  });

  it('its broker connection cut: it reconnects, nothing is applied twice, and a poison message still ends in the DLQ', async () => {
    const publisher = system.admin.createPublisher({ confirm: true });
    try {
      await scenario(system, 'consumer-broker-connection-cut', async () => {
        const traffic = startTraffic(system, { concurrency: 3 });
        try {
          await waitFor(async () => traffic.accepted.length >= 20 && (await applied(system, traffic.accepted.slice(0, 20))) === 20, {
            timeoutMs: 60_000,
            what: 'payments to flow',
          });
          system.proxies.consumerAmqp.cut();
          try {
            // Sent while the consumer is away: it must dead-letter it once back, not lose or loop on it.
            await publisher.send(
              {
                exchange: Topology.paymentsExchange,
                routingKey: Topology.paymentProcessedKey,
                durable: true,
                contentType: 'application/json',
                messageId: 'fault-poison',
              },
              Buffer.from('{ not json'),
            );
            const target = traffic.accepted.length + 30;
            await waitFor(() => traffic.accepted.length >= target, { timeoutMs: 60_000, what: 'orders during the cut' });
          } finally {
            system.proxies.consumerAmqp.restore();
          }
          const target = traffic.accepted.length + 10;
          await waitFor(() => traffic.accepted.length >= target, { timeoutMs: 60_000, what: 'orders after the cut' });
        } finally {
          await traffic.stop();
        }
        expect(system.processes.consumer!.running, 'the consumer is still running').to.equal(true);
      }, { expectedDlq: 1 });
    } finally {
      await publisher.close();
      await system.admin.queuePurge(Topology.paymentDlq);
    }
  });
});
