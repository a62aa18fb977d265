/** The median of a list (the mean of the middle two for an even count). */
export function median(values: number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The q-quantile (0..1) of samples, by linear interpolation between closest ranks. */
export function quantile(samples: number[], q: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  return sorted[lower]! + (sorted[upper]! - sorted[lower]!) * (position - lower);
}

/** A Prometheus histogram: cumulative counts per upper bound (le), ending with +Inf. */
export interface Buckets {
  bounds: number[];
  counts: number[];
}

/** Bucket counts of `after` minus `before`: the observations made between two scrapes. */
export function bucketDelta(after: Buckets, before: Buckets | undefined): Buckets {
  if (!before) return after;
  return { bounds: after.bounds, counts: after.counts.map((count, i) => count - (before.counts[i] ?? 0)) };
}

/**
 * The q-quantile of a histogram, interpolated linearly inside the bucket that holds it (what
 * PromQL's histogram_quantile does). Its precision is the bucket width.
 */
export function histogramQuantile(buckets: Buckets, q: number): number {
  const total = buckets.counts.at(-1) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  for (let i = 0; i < buckets.counts.length; i++) {
    const count = buckets.counts[i]!;
    if (count >= rank) {
      const upper = buckets.bounds[i]!;
      const lower = i === 0 ? 0 : buckets.bounds[i - 1]!;
      if (!Number.isFinite(upper)) return lower;
      const below = i === 0 ? 0 : buckets.counts[i - 1]!;
      return lower + (upper - lower) * ((rank - below) / Math.max(count - below, 1));
    }
  }
  return buckets.bounds.at(-2) ?? NaN;
}
