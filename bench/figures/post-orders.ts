import { sql } from 'kysely';
import { API_SESSION } from '@order-service/api/config';
import { addCpu, CpuMeter } from '../lib/cpu';
import type { BenchEnvironment } from '../lib/environment';
import { samplePgActivity } from '../lib/pg-activity';
import { capturePostOrder, orderBody } from '../lib/fixtures';
import { interleave, type Slice } from '../lib/interleave';
import { LEAST_ORDER_SCRIPT } from '../lib/least-order';
import { hammer } from '../lib/load';
import type { Scale } from '../lib/options';
import { runPgbench, type PgbenchOptions } from '../lib/pgbench';
import { progress } from '../lib/progress';
import { median } from '../lib/stats';
import { distribution, measured, type Run } from '../report/results';
import type { FigureOutput } from './types';
import { FIGURES } from './meta';

/**
 * Figure 1: POST /api/orders orders/s with `connections` always in flight and a relay draining
 * what they write, as production runs it, divided by two limits measured with as many clients:
 * - pgbench running the code's own statement (captured from placeOrder, prepared as the code
 *   prepares it, in sessions set as the api's): the ratio to it is what Node and the relay cost;
 * - pgbench running a fixed, hand-written script of the least an order needs (least-order.ts):
 *   the ratio to it is what the design costs, and that limit does not move when the code does.
 * The relay is paused (SIGSTOP) during the limits' slices, so that they measure Postgres alone,
 * and the outbox rows they wrote are deleted before it resumes.
 */
export async function measurePostOrders(env: BenchEnvironment, scale: Scale): Promise<FigureOutput> {
  const { api, relay } = await env.only(['api', 'relay']);
  const relayPid = relay!.nodePid();
  const pauseRelay = (paused: boolean) => {
    if (relayPid !== undefined) process.kill(relayPid, paused ? 'SIGSTOP' : 'SIGCONT');
  };
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
  const pgbenchSlice = async (options: Pick<PgbenchOptions, 'script' | 'variables' | 'session'>, seconds: number): Promise<Slice> => {
    pauseRelay(true);
    try {
      const { rows } = await sql<{ id: string }>`select coalesce(max(id), 0)::text as id from outbox`.execute(env.db);
      const pg = await runPgbench({ databaseUrl: env.database.url, ...options, protocol: 'prepared', clients, seconds, latencies: true });
      // The relay drains what the POSTs write, not the limit's outbox rows: left pending, they
      // would be published during the next API slice (12,000–17,000 rows a slice, several times
      // what the POSTs write in it), and the API would be measured beside that backlog's drain.
      await sql`delete from outbox where id > ${rows[0]!.id}::bigint`.execute(env.db);
      return { count: pg.transactions, seconds: pg.transactions / pg.tps, latenciesMs: pg.latenciesMs ?? [] };
    } finally {
      pauseRelay(false);
    }
  };
  const limit = (seconds: number) => pgbenchSlice({ script, variables, session: API_SESSION }, seconds);
  const leastLimit = (seconds: number) => pgbenchSlice({ script: LEAST_ORDER_SCRIPT }, seconds);
  let non2xx = 0;
  let errors = 0;

  if (scale.warmupSeconds > 0) {
    progress('figure 1: warming up');
    await limit(scale.warmupSeconds);
    await post(scale.warmupSeconds);
    for (const key of Object.keys(cpu)) delete cpu[key];
  }
  const runs: Run[] = [];
  const leastRuns: Run[] = [];
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
    const { limit: least, figure: again } = await interleave(scale.httpSeconds / 2, scale.sliceSeconds, leastLimit, post);
    latencies.push(...again.latenciesMs);
    leastRuns.push({ value: again.rate, limit: least.rate, ratio: again.rate / least.rate, p50Ms: again.p50Ms, p99Ms: again.p99Ms });
    progress(
      `figure 1b run ${i}/${scale.runs}: api ${again.rate.toFixed(0)} orders/s (p99 ${again.p99Ms.toFixed(1)} ms), ` +
        `least-order pgbench ${least.rate.toFixed(0)} tx/s → ${(again.rate / least.rate).toFixed(2)}`,
    );
    progress(
      `figure 1 run ${i}/${scale.runs}: api ${http.rate.toFixed(0)} orders/s (p50 ${http.p50Ms.toFixed(1)} ms, p99 ${http.p99Ms.toFixed(1)} ms), ` +
        `pgbench ${pg.rate.toFixed(0)} tx/s (p50 ${pg.p50Ms.toFixed(1)} ms, p99 ${pg.p99Ms.toFixed(1)} ms) → ${(http.rate / pg.rate).toFixed(2)}`,
    );
  }
  const figure = measured(
    {
      ...FIGURES.postOrders,
      limitName: `pgbench, the code's own statement (prepared), ${clients} clients, relay paused`,
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
        apiSessionsInLastSlice: lastActivity,
        relay: 'running beside the API, draining what the POSTs write',
      },
    },
    runs,
  );
  const leastFigure = measured(
    {
      ...FIGURES.postOrdersDesign,
      limitName: `pgbench, fixed least-order script (order + 2 items + outbox row, one statement, -M prepared), ${clients} clients, relay paused`,
      details: { connections: clients, secondsPerRun: scale.httpSeconds / 2, sliceSeconds: scale.sliceSeconds },
    },
    leastRuns,
  );
  return {
    figures: [figure, leastFigure],
    distributions: {
      postLatency: distribution(`POST /api/orders latency, ${clients} connections (all runs)`, latencies, [
        { label: 'pgbench p99 (same transaction, same concurrency)', ms: median(limitP99s) },
        { label: 'target p99', ms: 50 },
      ]),
    },
    scripts: { 'figure 1 (POST /api/orders)': script, 'figure 1b (least-order limit)': LEAST_ORDER_SCRIPT },
  };
}
