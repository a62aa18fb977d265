import { parseArgs } from 'node:util';

/** How big each figure's workload is. `full` is `pnpm bench`; `quick` fits in about a minute; `tiny` only proves it runs. */
export interface Scale {
  name: 'full' | 'quick' | 'tiny';
  /** Each figure is measured this many times (interleaved with its limit); the median is reported. */
  runs: number;
  /** How long figures 1 and 2 and their limits each run per run ... */
  httpSeconds: number;
  /** ... in alternating slices this long (limit, figure, limit, figure, ...). */
  sliceSeconds: number;
  warmupSeconds: number;
  /** Concurrency of figure 1: autocannon connections and pgbench clients alike. */
  postConnections: number;
  getConnections: number;
  /** Orders read in figure 2 (all cached). */
  cachedOrders: number;
  /** Outbox rows the relay drains in figure 3. */
  backlog: number;
  /** Orders posted one at a time in figure 4, and the gap between them. */
  idleOrders: number;
  idleIntervalMs: number;
  /** How long figure 8 watches an idle relay. */
  idleCostSeconds: number;
  /** Queued PaymentProcessed events in figure 5. */
  payments: number;
  /** Open-loop POST rate and duration of figure 6. */
  e2eRate: number;
  e2eSeconds: number;
  /** Figure 10: how long each step of the rate search runs, and the rate it stops at. */
  e2eStepSeconds: number;
  e2eMaxRate: number;
  /** Figure 11: how long the long transaction stays open (and the run without it lasts). */
  heldVacuumSeconds: number;
}

const SCALES: Record<Scale['name'], Scale> = {
  full: {
    name: 'full',
    runs: 3,
    httpSeconds: 10,
    sliceSeconds: 2,
    warmupSeconds: 3,
    postConnections: 32,
    getConnections: 32,
    cachedOrders: 200,
    backlog: 50_000,
    idleOrders: 500,
    idleIntervalMs: 20,
    idleCostSeconds: 10,
    payments: 20_000,
    e2eRate: 200,
    e2eSeconds: 10,
    e2eStepSeconds: 5,
    e2eMaxRate: 2_000,
    heldVacuumSeconds: 60,
  },
  quick: {
    name: 'quick',
    runs: 3,
    httpSeconds: 1,
    sliceSeconds: 1,
    warmupSeconds: 0.5,
    postConnections: 32,
    getConnections: 32,
    cachedOrders: 30,
    backlog: 3_000,
    idleOrders: 60,
    idleIntervalMs: 20,
    idleCostSeconds: 3,
    payments: 1_000,
    e2eRate: 200,
    e2eSeconds: 1,
    e2eStepSeconds: 1,
    e2eMaxRate: 1_000,
    heldVacuumSeconds: 5,
  },
  tiny: {
    name: 'tiny',
    runs: 1,
    httpSeconds: 1,
    sliceSeconds: 1,
    warmupSeconds: 0,
    postConnections: 8,
    getConnections: 8,
    cachedOrders: 10,
    backlog: 300,
    idleOrders: 20,
    idleIntervalMs: 20,
    idleCostSeconds: 1,
    payments: 200,
    e2eRate: 100,
    e2eSeconds: 1,
    e2eStepSeconds: 1,
    e2eMaxRate: 200,
    heldVacuumSeconds: 1,
  },
};

/** BENCH_SCALE='{"runs":1}' overrides single sizes, for exploring without editing this file. */
const BENCH_SCALE_OVERRIDE = process.env.BENCH_SCALE ? (JSON.parse(process.env.BENCH_SCALE) as Partial<Scale>) : undefined;

export interface BenchOptions {
  scale: Scale;
  /** Where results, REPORT.md and charts go; undefined means the repository's bench/ layout. */
  outDir: string | undefined;
  /** Only these figures (all when empty). */
  only: Set<number>;
  /** Start the services with --cpu-prof, writing profiles to this directory. */
  profileDir: string | undefined;
}

export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      tiny: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      profile: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stderr.write(
      [
        'usage: pnpm bench [--quick | --tiny] [--out <dir>] [--only 1,2,...] [--profile <dir>]',
        '  --quick          a smaller run, about a minute',
        '  --tiny           the smallest run that exercises every figure (used by the e2e test)',
        '  --out <dir>      write results, REPORT.md and charts there instead of bench/',
        '  --only <list>    measure only these figures (7, peak RSS, is always reported)',
        '  --profile <dir>  run the services with --cpu-prof, profiles written to <dir>',
        '',
      ].join('\n'),
    );
    process.exit(0);
  }
  const scale = { ...SCALES[values.tiny ? 'tiny' : values.quick ? 'quick' : 'full'] };
  const only = new Set(
    (values.only ?? '')
      .split(',')
      .filter(Boolean)
      .map((figure) => Number(figure)),
  );
  if (BENCH_SCALE_OVERRIDE) Object.assign(scale, BENCH_SCALE_OVERRIDE);
  return { scale, outDir: values.out, only, profileDir: values.profile };
}
