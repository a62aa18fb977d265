import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@order-service/testkit';
import { measureCommitToConfirm } from './figures/commit-to-confirm';
import { measureConsumerApply } from './figures/consumer-apply';
import { measureEndToEnd } from './figures/end-to-end';
import { measureGetOrder } from './figures/get-order';
import { measureHeldVacuum } from './figures/held-vacuum';
import { FIGURES } from './figures/meta';
import { peakRss } from './figures/peak-rss';
import { measurePostOrders } from './figures/post-orders';
import { measureRelayDrain } from './figures/relay-drain';
import type { FigureOutput } from './figures/types';
import { BenchEnvironment } from './lib/environment';
import { closeAgent } from './lib/load';
import { describeMachine } from './lib/machine';
import { killAllSync } from './lib/processes';
import { parseOptions, type Scale } from './lib/options';
import { progress } from './lib/progress';
import { notMeasured, type BenchResults, type Figure } from './report/results';
import { textTable } from './report/table';
import { writeOutputs } from './report/write';

/*
 * `pnpm bench`: measures every figure of the benchmark next to this machine's own limit for
 * the same work, prints the table, and writes results JSON, REPORT.md and charts. Progress goes
 * to stderr. Everything it creates (database, vhost, processes) is removed at the end, on
 * failure and on Ctrl-C.
 */

interface Step {
  meta: (typeof FIGURES)[keyof typeof FIGURES];
  measure: (env: BenchEnvironment, scale: Scale) => Promise<FigureOutput>;
}

// Figure 6 runs before 5: figure 5 must stop every service, and this order starts each one once.
const STEPS: Step[] = [
  { meta: FIGURES.postOrders, measure: measurePostOrders },
  { meta: FIGURES.heldVacuum, measure: measureHeldVacuum },
  { meta: FIGURES.getOrder, measure: measureGetOrder },
  { meta: FIGURES.relayDrain, measure: measureRelayDrain },
  { meta: FIGURES.commitToConfirm, measure: measureCommitToConfirm },
  { meta: FIGURES.endToEnd, measure: measureEndToEnd },
  { meta: FIGURES.consumerApply, measure: measureConsumerApply },
];

const options = parseOptions(process.argv.slice(2));
const startedAt = new Date();
let env: BenchEnvironment | undefined;

let interrupted = false;
const interrupt = (signal: NodeJS.Signals) => {
  if (interrupted) process.exit(130);
  interrupted = true;
  progress(`${signal}: stopping processes, dropping the bench database and vhost`);
  void (env?.dispose() ?? Promise.resolve()).finally(() => process.exit(130));
};
process.on('SIGINT', interrupt);
process.on('SIGTERM', interrupt);
// A crash in a library callback must not leave services running against a dropped database.
const crash = (error: unknown) => {
  progress(`bench crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  void (env?.dispose() ?? Promise.resolve()).finally(() => process.exit(1));
};
process.on('uncaughtException', crash);
process.on('unhandledRejection', crash);
process.on('exit', killAllSync);

/** The first line of an error, as the "not measured" reason. */
const reason = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);

try {
  progress(`${options.scale.name} run: creating the bench database and vhost`);
  env = await BenchEnvironment.create(options.profileDir ? path.resolve(options.profileDir) : undefined);
  const machine = await describeMachine(env.db, env.redisUrl);
  if (machine.loadAverage.start > machine.cores) {
    progress(`the machine is busy (load ${machine.loadAverage.start.toFixed(1)} on ${machine.cores} cores): expect noisy numbers; the ratios hold up better`);
  }
  const figures: Figure[] = [];
  const results: Pick<BenchResults, 'distributions' | 'scripts'> = { distributions: {}, scripts: {} };
  for (const step of STEPS) {
    if (interrupted) break;
    if (options.only.size > 0 && !options.only.has(step.meta.id)) {
      figures.push(notMeasured(step.meta, 'skipped (--only)'));
      continue;
    }
    progress(`figure ${step.meta.id}: ${step.meta.title}`);
    try {
      const output = await step.measure(env, options.scale);
      figures.push(...output.figures);
      Object.assign(results.distributions, output.distributions);
      Object.assign(results.scripts, output.scripts);
    } catch (error) {
      progress(`figure ${step.meta.id} not measured: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      figures.push(notMeasured(step.meta, reason(error)));
    }
  }
  // An interrupted run writes nothing: a partial result must not replace the last full one.
  if (interrupted) await new Promise(() => {}); // the SIGINT handler cleans up and exits
  await env.only([]);
  figures.push(...peakRss(env));
  figures.sort((a, b) => a.id - b.id);

  const finishedAt = new Date();
  machine.loadAverage.end = os.loadavg()[0]!;
  const full: BenchResults = {
    mode: options.scale.name,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: (finishedAt.getTime() - startedAt.getTime()) / 1000,
    machine,
    settings: { ...options.scale },
    figures,
    ...results,
  };
  const root = options.outDir ? path.resolve(options.outDir) : path.join(REPO_ROOT, 'bench');
  const written = writeOutputs(full, root, options.scale.name === 'full' || options.outDir !== undefined);
  progress(`wrote ${written.map((file) => path.relative(process.cwd(), file)).join(', ')}`);
  console.log(textTable(figures));
} catch (error) {
  progress(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await env?.dispose();
  closeAgent();
}
// Library handles (autocannon's timers, AMQP sockets) must not keep a finished bench alive.
process.exit(process.exitCode ?? 0);
