import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { CONSUMER_SESSION, ConsumerEnv } from '@order-service/consumer/config';
import { declarePaymentTopology, loadConfig, paymentEnvelope } from '@order-service/shared';
import { publishWindowed } from '../lib/amqp';
import { addCpu, CpuMeter } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { captureApplyPayment, insertPendingOrders, paymentProcessed, pgbenchOrderIds } from '../lib/fixtures';
import type { Scale } from '../lib/options';
import { samplePgActivity } from '../lib/pg-activity';
import { runPgbench } from '../lib/pgbench';
import { sleep } from '../lib/processes';
import { progress } from '../lib/progress';
import { metricValue, scrape } from '../lib/prometheus';
import { measured, type Run } from '../report/results';
import { FIGURES } from './meta';
import type { FigureOutput } from './types';

/**
 * Figure 5: the consumer's apply rate over `scale.payments` PaymentProcessed events queued
 * while it was stopped (from its first applied event to its last), divided by pgbench running
 * the consumer's own statement (captured from applyPayment, prepared as the consumer prepares it,
 * in sessions set as the consumer's) with as many clients as the consumer has concurrent
 * handlers, over as many PENDING orders.
 */
export async function measureConsumerApply(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  await env.resetTables();
  const concurrency = loadConfig(ConsumerEnv, { ...process.env, ...env.serviceEnv() }).CONSUMER_CONCURRENCY;
  // The consumer is stopped while events queue up. Its queue is declared here with the
  // consumer's own declaration (idempotent, as every process does at start).
  await env.only([]);
  const connection = env.connection();
  await declarePaymentTopology(connection);
  const { script, variables } = await captureApplyPayment();
  const publisher = connection.createPublisher({ confirm: true, maxAttempts: 1 });
  const count = scale.payments;
  const perClient = Math.ceil(count / concurrency);

  const limit = async (run: number) => {
    const runId = `run${run}-${randomUUID().slice(0, 8)}`;
    await insertPendingOrders(env.db, pgbenchOrderIds(runId, concurrency, perClient));
    const result = await runPgbench({
      databaseUrl: env.database.url,
      script,
      variables: { ...variables, run: runId, n: 0 },
      protocol: 'prepared',
      session: CONSUMER_SESSION,
      clients: concurrency,
      transactionsPerClient: perClient,
    });
    if (result.failed > 0) throw new Error(`pgbench: ${result.failed} transactions failed`);
    return result.tps;
  };

  const cpu: Record<string, number> = {};
  let lastActivity: unknown;
  const apply = async () => {
    const orderIds = Array.from({ length: count }, () => randomUUID());
    await insertPendingOrders(env.db, orderIds);
    await publishWindowed(publisher, count, 500, (index) => {
      const event = paymentProcessed(orderIds[index]!);
      return { envelope: paymentEnvelope(event), body: Buffer.from(JSON.stringify(event)) };
    });
    const spawned = performance.now();
    const consumer = await env.ensure('consumer');
    const meter = await CpuMeter.start(env);
    const activity = samplePgActivity(env.db, env.database.name, ['order-service-consumer']);
    // From the first applied event seen to the last, so the process start is not counted.
    let first: { at: number; applied: number } | undefined;
    const deadline = Date.now() + Math.max(120_000, count * 20);
    for (;;) {
      const applied = metricValue(await scrape(consumer.port), 'consumer_events_total', { outcome: 'applied' }) ?? 0;
      const now = performance.now();
      if (applied > 0 && !first) first = applied >= count ? { at: spawned, applied: 0 } : { at: now, applied };
      if (applied >= count) {
        addCpu(cpu, await meter.stop());
        lastActivity = await activity.stop();
        await env.stop('consumer');
        const done = await sql<{ n: string }>`select count(*) as n from orders where order_id = any(${orderIds}::uuid[]) and status = 'PROCESSING'`.execute(env.db);
        if (Number(done.rows[0]!.n) !== count) throw new Error(`consumer counted ${applied} applied, but ${done.rows[0]!.n} orders are PROCESSING`);
        return (count - first!.applied) / ((now - first!.at) / 1000);
      }
      if (Date.now() > deadline) throw new Error(`consumer applied ${applied} of ${count} events before the deadline`);
      await sleep(50);
    }
  };

  try {
    const runs: Run[] = [];
    for (let i = 1; i <= scale.runs; i++) {
      const tps = await limit(i);
      const rate = await apply();
      runs.push({ value: rate, limit: tps, ratio: rate / tps });
      progress(`figure 5 run ${i}/${scale.runs}: consumer ${rate.toFixed(0)} events/s, pgbench ${tps.toFixed(0)} tx/s → ${(rate / tps).toFixed(2)}`);
    }
    return {
      figures: [
        measured(
          {
            ...FIGURES.consumerApply,
            limitName: `pgbench, the consumer's statement, ${concurrency} clients`,
            details: {
              events: count,
              concurrency,
              limitNote: 'pgbench applies one event per transaction (applyPayment); a consumer that batches events into one statement can exceed it',
              cpuSecondsDuringDrains: cpu,
              consumerSessionsInLastDrain: lastActivity,
            },
          },
          runs,
        ),
      ],
      scripts: { 'figure 5 (apply PaymentProcessed)': script },
    };
  } finally {
    await publisher.close();
  }
}
