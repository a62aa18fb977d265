import { quantile } from './stats';

/** One short measurement: how many operations completed in how many seconds, and their latencies. */
export interface Slice {
  count: number;
  seconds: number;
  latenciesMs: number[];
}

export interface Totals {
  rate: number;
  p50Ms: number;
  p99Ms: number;
  latenciesMs: number[];
}

function total(slices: Slice[]): Totals {
  const latenciesMs = slices.flatMap((slice) => slice.latenciesMs);
  const count = slices.reduce((sum, slice) => sum + slice.count, 0);
  const seconds = slices.reduce((sum, slice) => sum + slice.seconds, 0);
  return { rate: count / seconds, p50Ms: quantile(latenciesMs, 0.5), p99Ms: quantile(latenciesMs, 0.99), latenciesMs };
}

/**
 * Measures a limit and a figure side by side in alternating slices (limit, figure, limit,
 * figure, ...) until each has run `seconds`. On a shared machine, load from elsewhere comes and
 * goes in bursts of seconds; short alternating slices spread a burst over both sides instead of
 * letting it land on one, so their ratio stays steady.
 */
export async function interleave(
  seconds: number,
  sliceSeconds: number,
  limit: (seconds: number) => Promise<Slice>,
  figure: (seconds: number) => Promise<Slice>,
): Promise<{ limit: Totals; figure: Totals }> {
  const slices = Math.max(1, Math.round(seconds / sliceSeconds));
  const each = seconds / slices;
  const limits: Slice[] = [];
  const figures: Slice[] = [];
  for (let i = 0; i < slices; i++) {
    limits.push(await limit(each));
    figures.push(await figure(each));
  }
  return { limit: total(limits), figure: total(figures) };
}
