import { sql } from 'kysely';
import { Topology } from '@order-service/shared';
import { createChangeFeed } from '../lib/change-feed';
import { LEAST_ORDER_SCRIPT } from '../lib/least-order';
import { runPgbench } from '../lib/pgbench';
import { addCpu, CpuMeter, isServiceCost } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { orderBody } from '../lib/fixtures';
import { openLoop, request } from '../lib/load';
import { sampleNotifyLockWaits } from '../lib/notify-locks';
import type { Scale } from '../lib/options';
import { samplePgActivity } from '../lib/pg-activity';
import { sleep } from '../lib/processes';
import { progress } from '../lib/progress';
import { histogram, metricValue, scrape, type Scrape } from '../lib/prometheus';
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
/** Figure 6's bound, which figure 10 holds while it steps the rate up by RATE_STEP. */
const E2E_P99_BOUND_MS = 100;
const RATE_STEP = 100;
/** How long figure 9's floor is measured at each rate. */
const FLOOR_SECONDS = 3;

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
  const { api, relay, consumer } = await env.only(['api', 'relay', 'consumer', 'simulator'], {
    env: { simulator: { SIMULATOR_DELAY_MS: '0', SIMULATOR_SUCCESS_RATIO: '1' } },
  });
  const port = api!.port;
  await untilConsumed(env, [Topology.simulatorQueue, Topology.paymentQueue]);

  // Orders POSTed and not yet applied, each with the callback that wakes its reader. The consumer
  // writes an order_status_history row in the statement that applies a payment, so reading that
  // table by id is a change feed (createChangeFeed: ids commit out of order, so it reads past the
  // ids it has not seen yet): each look costs only the new rows, however many orders are in flight.
  const waiting = new Map<string, () => void>();
  const appliedAt = new Map<string, number>();
  let watching = true;
  const { rows: top } = await sql<{ id: string | null }>`select max(id)::text as id from order_status_history`.execute(env.db);
  const look = async (floor: string) => {
    const { rows } = await sql<{ id: string; order_id: string }>`
      select id::text, order_id from order_status_history where id > ${floor}::bigint order by id`
      .execute(env.db)
      .catch(() => ({ rows: [] as Array<{ id: string; order_id: string }> })); // the fallback read covers a failed look
    return rows;
  };
  const feed = createChangeFeed(look, { floor: top[0]?.id ?? '0' });
  const watcher = (async () => {
    while (watching) {
      for (const { order_id: orderId } of await feed.next()) {
        appliedAt.set(orderId, performance.now());
        waiting.get(orderId)?.();
        waiting.delete(orderId);
      }
      await sleep(WATCH_INTERVAL_MS);
    }
  })();

  // visibleMs: from the payment applied in Postgres (as the watcher saw it) to the GET that showed it.
  const stages = { postMs: [] as number[], appliedMs: [] as number[], visibleMs: [] as number[], readsPerOrder: [] as number[] };
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
          if (appliedAt.has(id)) {
            stages.appliedMs.push(appliedAt.get(id)! - scheduledAt);
            stages.visibleMs.push(performance.now() - appliedAt.get(id)!);
          }
          stages.readsPerOrder.push(attempt + 1);
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

  /** One open-loop run: `count` orders at `rate`/s, each timed from its scheduled POST to PROCESSING. */
  const runAt = async (rate: number, count: number) => {
    const latencies: number[] = [];
    const firstStage = { post: stages.postMs.length, applied: stages.appliedMs.length, reads: stages.readsPerOrder.length };
    let firstError: string | undefined;
    // Scraped before the meter starts: serving /metrics is not part of what an order costs.
    const [consumerBefore, relayBefore] = await Promise.all([scrape(consumer!.port), scrape(relay!.port)]);
    const meter = await CpuMeter.start(env);
    const started = performance.now();
    const result = await openLoop(rate, count, async (_index, scheduledAt) => {
      try {
        latencies.push(await order(scheduledAt));
      } catch (error) {
        firstError ??= error instanceof Error ? error.message : String(error);
        throw error;
      }
    });
    const cpu = await meter.stop();
    const [consumerAfter, relayAfter] = await Promise.all([scrape(consumer!.port), scrape(relay!.port)]);
    const applied = (metrics: Scrape) => histogram(metrics, 'consumer_order_to_applied_seconds');
    const after = applied(consumerAfter);
    const delta = after ? bucketDelta(after, applied(consumerBefore)) : undefined;
    const claims = (metricValue(relayAfter, 'relay_claims_total') ?? 0) - (metricValue(relayBefore, 'relay_claims_total') ?? 0);
    return {
      latencies,
      failures: result.failures,
      firstError,
      cpu,
      // The rate POSTs actually completed at: below the offered rate, the API fell behind and queued.
      completedPerSecond: Math.round(count / ((lastPost - started) / 1000)),
      // Empty claims included: each is a transaction of its own.
      relayClaimsPerOrder: Math.round((claims / count) * 100) / 100,
      consumerApplied: delta && { p50: histogramQuantile(delta, 0.5) * 1000, p99: histogramQuantile(delta, 0.99) * 1000 },
      postP50Ms: quantile(stages.postMs.slice(firstStage.post), 0.5),
      postP99Ms: quantile(stages.postMs.slice(firstStage.post), 0.99),
      appliedP50Ms: quantile(stages.appliedMs.slice(firstStage.applied), 0.5),
      appliedP99Ms: quantile(stages.appliedMs.slice(firstStage.applied), 0.99),
      visibleP99Ms: quantile(stages.visibleMs.slice(firstStage.applied), 0.99),
      maxReadsPerOrder: Math.max(0, ...stages.readsPerOrder.slice(firstStage.reads)),
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
    };
  };

  const notifyWaits = sampleNotifyLockWaits(env.db, env.database.name);
  const activity = samplePgActivity(env.db, env.database.name, ['order-service-api', 'order-service-relay', 'order-service-consumer'], 50);
  try {
    // As figures 1 and 2 do: the consumer and the simulator have just started, and the first
    // seconds of a process are spent compiling its hot paths. What the warm-up saw is not kept.
    if (scale.warmupSeconds > 0) {
      progress('figure 6: warming up');
      await runAt(scale.e2eRate, Math.round(scale.e2eRate * scale.warmupSeconds));
      stages.postMs.length = stages.appliedMs.length = stages.visibleMs.length = stages.readsPerOrder.length = 0;
      reads = 0;
    }
    const runs: Run[] = [];
    const all: number[] = [];
    const count = Math.round(scale.e2eRate * scale.e2eSeconds);
    let failures = 0;
    let firstError: string | undefined;
    const cpu: Record<string, number> = {};
    const completed: number[] = [];
    const claimsPerOrder: number[] = [];
    const consumerApplied: Array<{ p50: number; p99: number }> = [];
    for (let i = 1; i <= scale.runs; i++) {
      const run = await runAt(scale.e2eRate, count);
      failures += run.failures;
      firstError ??= run.firstError;
      addCpu(cpu, run.cpu);
      completed.push(run.completedPerSecond);
      claimsPerOrder.push(run.relayClaimsPerOrder);
      if (run.consumerApplied) consumerApplied.push(run.consumerApplied);
      if (run.latencies.length === 0) throw new Error(`no order became visible as PROCESSING: ${firstError}`);
      all.push(...run.latencies);
      runs.push({ value: run.p99Ms, p50Ms: run.p50Ms, p99Ms: run.p99Ms });
      progress(
        `figure 6 run ${i}/${scale.runs}: ${run.latencies.length} orders at ${scale.e2eRate}/s, p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms, ` +
          `${run.failures} failed; POST p50 ${run.postP50Ms.toFixed(1)} ms, applied in Postgres p50 ${run.appliedP50Ms.toFixed(1)} ms`,
      );
    }
    const sessions = await activity.stop();
    // Figure 10's steps read orders too; figure 6's count is its own runs'.
    const readsInRuns = reads;

    // Figure 10: step the rate up until an order's p99 passes the bound (or orders fail, or the
    // API cannot take the rate any more); the last rate that held is the figure.
    // Each step keeps where its time went: the POST, and the POST to the payment applied in Postgres.
    const steps: Array<{
      rate: number;
      p50Ms: number;
      p99Ms: number;
      postP99Ms: number;
      appliedP99Ms: number;
      visibleP99Ms: number;
      failures: number;
      firstError: string | null;
      completedPerSecond: number;
      relayClaimsPerOrder: number;
      cpuMsPerOrder: number;
    }> = [];
    let sustained = 0;
    for (let rate = scale.e2eRate; rate <= scale.e2eMaxRate; rate += RATE_STEP) {
      const stepCount = Math.round(rate * scale.e2eStepSeconds);
      const run = await runAt(rate, stepCount);
      const cpuMsPerOrder = (totalCpu(run.cpu) * 1000) / stepCount;
      steps.push({
        rate,
        p50Ms: run.p50Ms,
        p99Ms: run.p99Ms,
        postP99Ms: run.postP99Ms,
        appliedP99Ms: run.appliedP99Ms,
        visibleP99Ms: run.visibleP99Ms,
        failures: run.failures,
        firstError: run.firstError ?? null,
        completedPerSecond: run.completedPerSecond,
        relayClaimsPerOrder: run.relayClaimsPerOrder,
        cpuMsPerOrder,
      });
      const held = run.failures === 0 && run.latencies.length === stepCount && run.p99Ms <= E2E_P99_BOUND_MS && run.completedPerSecond >= rate * 0.95;
      progress(
        `figure 10 step ${rate}/s: p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms ` +
          `(POST p99 ${run.postP99Ms.toFixed(1)} ms, applied p99 ${run.appliedP99Ms.toFixed(1)} ms, applied → visible p99 ${run.visibleP99Ms.toFixed(1)} ms, ` +
          `up to ${run.maxReadsPerOrder} reads), ${run.failures} failed, ` +
          `POSTs completed at ${run.completedPerSecond}/s, ${cpuMsPerOrder.toFixed(2)} ms CPU per order → ${held ? 'held' : 'broke'}` +
          (run.firstError ? ` (first failure: ${run.firstError})` : ''),
      );
      if (!held) break;
      sustained = rate;
    }

    // What one order's insert costs Postgres at this rate when nothing else runs: the fixed
    // least-order script (figure 1's limit), at figure 6's rate and at 4 times it.
    await env.only([]);
    const leastOrderFloor = [];
    for (const rate of [scale.e2eRate, scale.e2eRate * 4]) leastOrderFloor.push(await postgresCostAtRate(env, rate, FLOOR_SECONDS));
    progress(`figure 9: the least-order statement alone costs Postgres ${leastOrderFloor.map((f) => `${f.ms} ms per order at ${f.rate}/s`).join(', ')}`);

    const ordersMeasured = count * scale.runs;
    const perOrder = Object.fromEntries(
      Object.entries(cpu)
        .filter(([group]) => isServiceCost(group))
        .map(([group, seconds]) => [group, Math.round(((seconds * 1000) / ordersMeasured) * 100) / 100]),
    );
    const cpuMsPerOrder = Object.values(perOrder).reduce((sum, ms) => sum + ms, 0);
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
              relayClaimsPerOrder: claimsPerOrder,
              readsPerOrder: Math.round((readsInRuns / (count * scale.runs)) * 10) / 10,
              cpuSeconds: cpu,
              notifyLockWaits: await notifyWaits.stop(),
              sessions,
            },
          },
          runs,
        ),
        measured(
          {
            ...FIGURES.cpuPerOrder,
            details: {
              ratePerSecond: scale.e2eRate,
              orders: ordersMeasured,
              wallSeconds: cpu.wallSeconds,
              msPerOrderByProcess: perOrder,
              leastOrderPostgresMsPerOrder: leastOrderFloor,
              note:
                'CPU (user + system) of each process during the figure 6 runs, divided by the orders they carried through ' +
                'POST → relay → simulator → consumer → GET. Postgres is split by the service each backend serves, plus its own server processes; ' +
                'RabbitMQ and Redis are the whole servers. The bench (the load generator, its watcher and their Postgres backends) is left out.',
            },
          },
          [{ value: Math.round(cpuMsPerOrder * 100) / 100 }],
        ),
        measured(
          {
            ...FIGURES.sustainedRate,
            details: { stepSeconds: scale.e2eStepSeconds, step: RATE_STEP, bound: `p99 ≤ ${E2E_P99_BOUND_MS} ms, no failures, POSTs keep up`, steps },
          },
          [{ value: sustained }],
        ),
      ],
      distributions: {
        endToEnd: distribution(`POST → PROCESSING visible through GET, ${scale.e2eRate} orders/s open loop (all runs)`, all, [
          { label: 'target p99', ms: E2E_P99_BOUND_MS },
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
 * The Postgres CPU (its backends and its own processes) per transaction of the fixed least-order
 * script, sent by pgbench at `rate` per second (open loop, 4 clients) while no service runs: what
 * an order's insert costs Postgres at that rate, at the least. Measured while pgbench's sessions
 * are open, so their start and end are left out.
 */
async function postgresCostAtRate(env: BenchEnvironment, rate: number, seconds: number): Promise<{ rate: number; ms: number }> {
  const running = runPgbench({ databaseUrl: env.database.url, script: LEAST_ORDER_SCRIPT, protocol: 'prepared', clients: 4, rate, seconds: seconds + 1 });
  await sleep(500);
  const meter = await CpuMeter.start(env);
  await sleep(seconds * 1_000);
  const cpu = await meter.stop();
  // Per transaction pgbench ran: fewer than asked for if it fell behind the rate.
  const ran = Math.min(rate, (await running).tps);
  const postgres = Object.entries(cpu)
    .filter(([group]) => group.startsWith('postgres'))
    .reduce((sum, [, used]) => sum + used, 0);
  return { rate, ms: Math.round(((postgres * 1000) / (ran * cpu.wallSeconds!)) * 1000) / 1000 };
}

/** The CPU seconds of every service and server in a measurement (not the bench's own). */
function totalCpu(cpu: Record<string, number>): number {
  return Object.entries(cpu)
    .filter(([group]) => isServiceCost(group))
    .reduce((sum, [, seconds]) => sum + seconds, 0);
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
