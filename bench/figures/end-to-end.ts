import { sql } from 'kysely';
import { Topology } from '@order-service/shared';
import { SIMULATOR_QUEUE } from '../../services/consumer/src/simulator/simulator';
import { addCpu, CpuMeter } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { orderBody } from '../lib/fixtures';
import { openLoop, request } from '../lib/load';
import { sampleNotifyLockWaits } from '../lib/notify-locks';
import type { Scale } from '../lib/options';
import { samplePgActivity } from '../lib/pg-activity';
import { sleep } from '../lib/processes';
import { progress } from '../lib/progress';
import { histogram, scrape } from '../lib/prometheus';
import { bucketDelta, histogramQuantile, quantile } from '../lib/stats';
import { distribution, measured, type Run } from '../report/results';
import { FIGURES } from './meta';
import type { FigureOutput } from './types';

/** How often the bench looks for orders whose status changed (one query for all orders in flight). */
const WATCH_INTERVAL_MS = 5;
/** Gaps between reads of an order that Postgres shows applied but the API does not yet (a stale cache would). */
const RETRY_READS_MS = [2, 5, 10, 20, 50, 100];
/** Read an order anyway after this long without news, in case the watcher missed it. */
const FALLBACK_READ_MS = 500;

/**
 * Figure 6: POST an order at a fixed rate (open loop, `e2eRate` per second) with every process
 * running and the payment simulator answering at once, and time each order from its scheduled
 * POST to the first GET that shows it PROCESSING. Polling every order through the API would
 * load the very API being measured, so the bench watches Postgres for status changes (one query
 * every 5 ms, whatever the number of orders in flight) and reads an order through GET once it
 * changed: about one GET per order, and the latency is still what a client sees.
 */
export async function measureEndToEnd(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  await env.resetTables();
  const { api, consumer } = await env.only(['api', 'relay', 'consumer', 'simulator'], {
    env: { simulator: { SIMULATOR_DELAY_MS: '0', SIMULATOR_SUCCESS_RATIO: '1' } },
  });
  const port = api!.port;
  await untilConsumed(env, [SIMULATOR_QUEUE, Topology.paymentQueue]);

  // Orders POSTed and not yet applied, each with the callback that wakes its reader. The consumer
  // writes an order_status_history row in the statement that applies a payment, so reading that
  // table past the last id seen is a change feed: each look costs only the new rows, however many
  // orders are in flight.
  const waiting = new Map<string, () => void>();
  const appliedAt = new Map<string, number>();
  let watching = true;
  let lastId = '0';
  const watcher = (async () => {
    while (watching) {
      const { rows } = await sql<{ id: string; order_id: string }>`
        select id, order_id from order_status_history where id > ${lastId}::bigint order by id`
        .execute(env.db)
        .catch(() => ({ rows: [] as Array<{ id: string; order_id: string }> })); // the fallback read covers a failed look
      for (const { id, order_id: orderId } of rows) {
        lastId = String(id);
        appliedAt.set(orderId, performance.now());
        waiting.get(orderId)?.();
        waiting.delete(orderId);
      }
      await sleep(WATCH_INTERVAL_MS);
    }
  })();

  const stages = { postMs: [] as number[], appliedMs: [] as number[] };
  let reads = 0;
  let lastPost = 0;
  /** POSTs one order, then reads it until it is PROCESSING; resolves with the latency from `scheduledAt`. */
  const order = async (scheduledAt: number): Promise<number> => {
    const created = await request<{ order_id: string }>(port, 'POST', '/api/orders', orderBody());
    if (created.status !== 201) throw new Error(`POST /api/orders answered ${created.status}`);
    const id = created.body.order_id;
    lastPost = performance.now();
    stages.postMs.push(lastPost - scheduledAt);
    // The change feed may have seen it already, when this process was slower than the pipeline.
    if (!appliedAt.has(id)) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, FALLBACK_READ_MS);
        waiting.set(id, () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const deadline = performance.now() + 30_000;
    try {
      for (let attempt = 0; ; attempt++) {
        reads++;
        const read = await request<{ status: string }>(port, 'GET', `/api/orders/${id}`);
        if (read.status === 200 && read.body.status !== 'PENDING') {
          if (read.body.status !== 'PROCESSING') throw new Error(`order ${id} became ${read.body.status}`);
          if (appliedAt.has(id)) stages.appliedMs.push(appliedAt.get(id)! - scheduledAt);
          return performance.now() - scheduledAt;
        }
        if (performance.now() > deadline) throw new Error(`order ${id} still PENDING after 30 s`);
        await sleep(appliedAt.has(id) ? (RETRY_READS_MS[attempt] ?? 100) : FALLBACK_READ_MS);
      }
    } finally {
      waiting.delete(id);
      appliedAt.delete(id);
    }
  };

  const notifyWaits = sampleNotifyLockWaits(env.db, env.database.name);
  const activity = samplePgActivity(env.db, env.database.name, ['order-service-api', 'order-service-relay', 'order-service-consumer'], 50);
  try {
    const runs: Run[] = [];
    const all: number[] = [];
    const count = Math.round(scale.e2eRate * scale.e2eSeconds);
    let failures = 0;
    let firstError: string | undefined;
    const cpu: Record<string, number> = {};
    const completed: number[] = [];
    const consumerApplied: Array<{ p50: number; p99: number }> = [];
    for (let i = 1; i <= scale.runs; i++) {
      const latencies: number[] = [];
      const firstStage = { post: stages.postMs.length, applied: stages.appliedMs.length };
      const meter = await CpuMeter.start(env);
      const before = histogram(await scrape(consumer!.port), 'consumer_order_to_applied_seconds');
      const started = performance.now();
      const result = await openLoop(scale.e2eRate, count, async (_index, scheduledAt) => {
        try {
          latencies.push(await order(scheduledAt));
        } catch (error) {
          firstError ??= error instanceof Error ? error.message : String(error);
          throw error;
        }
      });
      failures += result.failures;
      addCpu(cpu, await meter.stop());
      // The rate POSTs actually completed at: below the offered rate, the API fell behind and queued.
      completed.push(Math.round(count / ((lastPost - started) / 1000)));
      const after = histogram(await scrape(consumer!.port), 'consumer_order_to_applied_seconds');
      if (after) {
        const delta = bucketDelta(after, before);
        consumerApplied.push({ p50: histogramQuantile(delta, 0.5) * 1000, p99: histogramQuantile(delta, 0.99) * 1000 });
      }
      if (latencies.length === 0) throw new Error(`no order became visible as PROCESSING: ${firstError}`);
      all.push(...latencies);
      const p50Ms = quantile(latencies, 0.5);
      const p99Ms = quantile(latencies, 0.99);
      runs.push({ value: p99Ms, p50Ms, p99Ms });
      progress(
        `figure 6 run ${i}/${scale.runs}: ${latencies.length} orders at ${scale.e2eRate}/s, p50 ${p50Ms.toFixed(1)} ms, p99 ${p99Ms.toFixed(1)} ms, ` +
          `${result.failures} failed; POST p50 ${quantile(stages.postMs.slice(firstStage.post), 0.5).toFixed(1)} ms, ` +
          `applied in Postgres p50 ${quantile(stages.appliedMs.slice(firstStage.applied), 0.5).toFixed(1)} ms`,
      );
    }
    return {
      figures: [
        measured(
          {
            ...FIGURES.endToEnd,
            details: {
              ratePerSecond: scale.e2eRate,
              ordersPerRun: count,
              failures,
              firstError: firstError ?? null,
              simulatorDelayMs: 0,
              postP50Ms: quantile(stages.postMs, 0.5),
              postP99Ms: quantile(stages.postMs, 0.99),
              appliedInPostgresP50Ms: quantile(stages.appliedMs, 0.5),
              appliedInPostgresP99Ms: quantile(stages.appliedMs, 0.99),
              consumerOrderToAppliedHistogramMs: consumerApplied,
              postsCompletedPerSecond: completed,
              readsPerOrder: Math.round((reads / (count * scale.runs)) * 10) / 10,
              cpuSeconds: cpu,
              notifyLockWaits: await notifyWaits.stop(),
              sessions: await activity.stop(),
            },
          },
          runs,
        ),
      ],
      distributions: {
        endToEnd: distribution(`POST → PROCESSING visible through GET, ${scale.e2eRate} orders/s open loop (all runs)`, all, [
          { label: 'target p99', ms: 100 },
        ]),
      },
    };
  } finally {
    watching = false;
    await watcher;
    await Promise.all([notifyWaits.stop(), activity.stop()]);
  }
}

/**
 * Waits until each queue exists and has a consumer. A service answers /healthz before it has
 * declared its queue, and an OrderCreated published before the simulator's queue is bound goes
 * to `orders.unroutable`: its order would never be paid.
 */
async function untilConsumed(env: BenchEnvironment, queues: string[]): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (const queue of queues) {
    for (;;) {
      const declared = await env
        .connection()
        .queueDeclare({ queue, passive: true })
        .catch(() => undefined);
      if (declared && declared.consumerCount > 0) break;
      if (Date.now() > deadline) throw new Error(`queue ${queue} has no consumer 30 s after its service started`);
      await sleep(50);
    }
  }
}
