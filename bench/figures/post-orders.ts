import { sql } from 'kysely';
import { addCpu, CpuMeter } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { sampleNotifyLockWaits } from '../lib/notify-locks';
import { samplePgActivity } from '../lib/pg-activity';
import { capturePostOrder, orderBody } from '../lib/fixtures';
import { interleave, type Slice } from '../lib/interleave';
import { hammer } from '../lib/load';
import type { Scale } from '../lib/options';
import { runPgbench } from '../lib/pgbench';
import { progress } from '../lib/progress';
import { median } from '../lib/stats';
import { distribution, measured, type Run } from '../report/results';
import type { FigureOutput } from './types';
import { FIGURES } from './meta';

/**
 * Figure 1: POST /api/orders orders/s with `connections` always in flight, divided by what
 * pgbench reaches running the same transaction (captured from placeOrder) with as many clients.
 */
export async function measurePostOrders(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  const { api } = await env.only(['api']);
  await env.resetTables();
  const { script, variables } = await capturePostOrder();
  const clients = scale.postConnections;
  const body = JSON.stringify(orderBody());
  // CPU seconds spent while the API was under load, per process: where the time goes.
  const cpu: Record<string, number> = {};
  let lastActivity: unknown;
  const post = async (seconds: number): Promise<Slice> => {
    const meter = await CpuMeter.start(env);
    const activity = samplePgActivity(env.db, env.database.name, ['order-service-api']);
    const http = await hammer({ port: api!.port, connections: clients, seconds, method: 'POST', paths: ['/api/orders'], body });
    addCpu(cpu, await meter.stop());
    lastActivity = await activity.stop();
    non2xx += http.non2xx;
    errors += http.errors;
    return { count: http.ok, seconds: http.seconds, latenciesMs: http.latenciesMs };
  };
  const limit = async (seconds: number): Promise<Slice> => {
    const pg = await runPgbench({ databaseUrl: env.database.url, script, variables, clients, seconds, latencies: true });
    return { count: pg.transactions, seconds: pg.transactions / pg.tps, latenciesMs: pg.latenciesMs ?? [] };
  };
  let non2xx = 0;
  let errors = 0;

  if (scale.warmupSeconds > 0) {
    progress('figure 1: warming up');
    await limit(scale.warmupSeconds);
    await post(scale.warmupSeconds);
    for (const key of Object.keys(cpu)) delete cpu[key];
  }
  const notifyWaits = sampleNotifyLockWaits(env.db, env.database.name);
  const runs: Run[] = [];
  const limitP50s: number[] = [];
  const limitP99s: number[] = [];
  const latencies: number[] = [];
  for (let i = 1; i <= scale.runs; i++) {
    const { limit: pg, figure: http } = await interleave(scale.httpSeconds, scale.sliceSeconds, limit, post);
    if (http.rate === 0) throw new Error(`no POST succeeded (${non2xx} non-2xx, ${errors} errors)`);
    latencies.push(...http.latenciesMs);
    limitP50s.push(pg.p50Ms);
    limitP99s.push(pg.p99Ms);
    runs.push({ value: http.rate, limit: pg.rate, ratio: http.rate / pg.rate, p50Ms: http.p50Ms, p99Ms: http.p99Ms });
    progress(
      `figure 1 run ${i}/${scale.runs}: api ${http.rate.toFixed(0)} orders/s (p50 ${http.p50Ms.toFixed(1)} ms, p99 ${http.p99Ms.toFixed(1)} ms), ` +
        `pgbench ${pg.rate.toFixed(0)} tx/s (p50 ${pg.p50Ms.toFixed(1)} ms, p99 ${pg.p99Ms.toFixed(1)} ms) → ${(http.rate / pg.rate).toFixed(2)}`,
    );
  }
  const notifyLock = await notifyWaits.stop();
  const withoutNotify = await limitWithoutNotify(env, script, variables, clients, Math.max(1, scale.httpSeconds / 2)).catch((error: unknown) => {
    progress(`figure 1: could not measure pgbench without the NOTIFY trigger: ${String(error)}`);
    return undefined;
  });
  if (withoutNotify) progress(`figure 1: pgbench without the outbox NOTIFY trigger: ${withoutNotify.tps.toFixed(0)} tx/s (p99 ${withoutNotify.p99Ms?.toFixed(1)} ms)`);
  const figure = measured(
    {
      ...FIGURES.postOrders,
      limitName: `pgbench, the same transaction, ${clients} clients`,
      // The limit's own latency: by Little's law, clients / throughput is the mean latency at this
      // concurrency, so when pgbench's p99 is over 50 ms the API's cannot be under it.
      details: {
        connections: clients,
        secondsPerRun: scale.httpSeconds,
        sliceSeconds: scale.sliceSeconds,
        non2xx,
        errors,
        limitP50Ms: median(limitP50s),
        limitP99Ms: median(limitP99s),
        cpuSecondsDuringApiSlices: cpu,
        notifyLockWaitsDuringRuns: notifyLock,
        apiSessionsInLastSlice: lastActivity,
        limitWithoutNotifyTriggerTps: withoutNotify?.tps ?? null,
        limitWithoutNotifyTriggerP99Ms: withoutNotify?.p99Ms ?? null,
        notifyNote:
          'the same pgbench with the outbox trigger disabled: NOTIFY takes a cluster-wide lock at commit and holds it through the WAL flush, serialising every committing order',
      },
    },
    runs,
  );
  return {
    figures: [figure],
    distributions: {
      postLatency: distribution(`POST /api/orders latency, ${clients} connections (all runs)`, latencies, [
        { label: 'pgbench p99 (same transaction, same concurrency)', ms: median(limitP99s) },
        { label: 'target p99', ms: 50 },
      ]),
    },
    scripts: { 'figure 1 (POST /api/orders)': script },
  };
}

/**
 * Diagnosis, not a figure: the limit again with the outbox NOTIFY trigger disabled (in the
 * bench's own database, restored at once). The gap shows what the commit-time NOTIFY costs.
 */
async function limitWithoutNotify(env: BenchEnvironment, script: string, variables: Record<string, string>, clients: number, seconds: number) {
  await sql`alter table outbox disable trigger outbox_notify`.execute(env.db);
  try {
    return await runPgbench({ databaseUrl: env.database.url, script, variables, clients, seconds, latencies: true });
  } finally {
    await sql`alter table outbox enable trigger outbox_notify`.execute(env.db);
  }
}
