import { median, quantile } from '../lib/stats';

/** What a figure must reach; every bound given must hold for it to pass. */
export interface Target {
  text: string;
  ratioAtLeast?: number;
  p50MsAtMost?: number;
  p99MsAtMost?: number;
  valueAtMost?: number;
  valueAtLeast?: number;
  /** The latency bounds must hold in each run, not only in the median over the runs. */
  everyRun?: boolean;
}

/** One measurement of a figure, next to the limit measured just before or after it. */
export interface Run {
  value: number;
  limit?: number;
  ratio?: number;
  p50Ms?: number;
  p99Ms?: number;
}

export interface Figure {
  id: number;
  /** Which process, for figure 7 (one row per process). */
  subject?: string;
  title: string;
  unit: string;
  /** What the value is divided by, e.g. "pgbench, same transaction, 32 clients". */
  limitName?: string;
  status: 'measured' | 'not measured';
  reason?: string;
  /** Medians over the runs. */
  value: number | null;
  limit: number | null;
  ratio: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  target: Target;
  pass: boolean | null;
  runs: Run[];
  details: Record<string, unknown>;
}

/** A latency distribution, binned for charts (raw samples would make the JSON huge). */
export interface Distribution {
  title: string;
  n: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Bin edges in ms (log spaced) and the count in each bin. */
  edgesMs: number[];
  counts: number[];
  /** Extra lines on the chart, e.g. the relay histogram's p50/p99 or the target. */
  markers?: Array<{ label: string; ms: number }>;
}

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  node: string;
  postgres: string;
  pgbench: string;
  rabbitmq: string;
  redis: string;
  /** 1-minute load average when the run started and when it ended: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
}

export interface BenchResults {
  mode: string;
  startedAt: string;
  finishedAt: string;
  durationSeconds: number;
  machine: Machine;
  settings: Record<string, unknown>;
  figures: Figure[];
  distributions: Record<string, Distribution>;
  /** The pgbench scripts the limits ran, for the record. */
  scripts: Record<string, string>;
}

const finite = (values: Array<number | undefined>) => values.filter((v): v is number => v !== undefined && Number.isFinite(v));
const medianOrNull = (values: Array<number | undefined>) => {
  const present = finite(values);
  return present.length === 0 ? null : median(present);
};

/**
 * Builds a measured figure from its runs, then pass/fail. A ratio figure reports the run with
 * the median ratio (its value and limit, so the row divides out); latencies are the medians over
 * the runs; a figure without a limit reports the median value.
 */
export function measured(
  base: Pick<Figure, 'id' | 'title' | 'unit' | 'target'> & Partial<Pick<Figure, 'subject' | 'limitName' | 'details'>>,
  runs: Run[],
): Figure {
  const withRatio = runs.filter((run) => run.ratio !== undefined && Number.isFinite(run.ratio));
  const medianRun = withRatio.length === 0 ? undefined : [...withRatio].sort((a, b) => a.ratio! - b.ratio!)[Math.floor((withRatio.length - 1) / 2)];
  const figure: Figure = {
    ...base,
    status: 'measured',
    value: medianRun ? medianRun.value : medianOrNull(runs.map((run) => run.value)),
    limit: medianRun?.limit ?? null,
    ratio: medianRun?.ratio ?? null,
    p50Ms: medianOrNull(runs.map((run) => run.p50Ms)),
    p99Ms: medianOrNull(runs.map((run) => run.p99Ms)),
    pass: null,
    runs,
    details: base.details ?? {},
  };
  figure.pass = passes(figure);
  return figure;
}

export function notMeasured(base: Pick<Figure, 'id' | 'title' | 'unit' | 'target'> & Partial<Pick<Figure, 'subject' | 'limitName'>>, reason: string): Figure {
  return { ...base, status: 'not measured', reason, value: null, limit: null, ratio: null, p50Ms: null, p99Ms: null, pass: null, runs: [], details: {} };
}

function passes(figure: Figure): boolean | null {
  const { target } = figure;
  const bounds = [target.ratioAtLeast, target.p50MsAtMost, target.p99MsAtMost, target.valueAtMost, target.valueAtLeast];
  if (bounds.every((bound) => bound === undefined)) return null;
  const atLeast = (value: number | null, bound: number | undefined) => bound === undefined || (value !== null && value >= bound);
  const atMost = (value: number | null, bound: number | undefined) => bound === undefined || (value !== null && value <= bound);
  const latencies = target.everyRun ? figure.runs.map((run) => ({ p50Ms: run.p50Ms ?? null, p99Ms: run.p99Ms ?? null })) : [figure];
  return (
    atLeast(figure.ratio, target.ratioAtLeast) &&
    latencies.every((run) => atMost(run.p50Ms, target.p50MsAtMost) && atMost(run.p99Ms, target.p99MsAtMost)) &&
    atMost(figure.value, target.valueAtMost) &&
    atLeast(figure.value, target.valueAtLeast)
  );
}

/** Bins latency samples on a log scale for a chart. */
export function distribution(title: string, samplesMs: number[], markers: Distribution['markers'] = []): Distribution {
  const samples = samplesMs.filter((ms) => Number.isFinite(ms) && ms >= 0);
  const bins = 36;
  // reduce, not Math.min(...samples): spreading tens of thousands of arguments can overflow the stack.
  const smallest = samples.reduce((min, ms) => Math.min(min, ms), Infinity);
  const largest = samples.reduce((max, ms) => Math.max(max, ms), 0);
  const low = Math.max(0.1, Math.min(smallest, 1));
  const high = Math.max(largest, low * 10);
  const edgesMs = Array.from({ length: bins + 1 }, (_, i) => low * (high / low) ** (i / bins));
  const counts = new Array<number>(bins).fill(0);
  for (const ms of samples) {
    const index = ms <= low ? 0 : Math.min(bins - 1, Math.floor((Math.log(ms / low) / Math.log(high / low)) * bins));
    counts[index]!++;
  }
  return {
    title,
    n: samples.length,
    p50Ms: quantile(samples, 0.5),
    p90Ms: quantile(samples, 0.9),
    p99Ms: quantile(samples, 0.99),
    maxMs: samples.length ? largest : NaN,
    edgesMs,
    counts,
    markers,
  };
}
