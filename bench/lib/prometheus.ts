import type { Buckets } from './stats';

/** One scrape of a /metrics endpoint: sample name with labels → value. */
export interface Scrape {
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

export async function scrape(port: number): Promise<Scrape> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5_000) });
  if (!response.ok) throw new Error(`GET /metrics on port ${port} answered ${response.status}`);
  return parseMetrics(await response.text());
}

/** Parses the Prometheus text format (the subset prom-client writes). */
export function parseMetrics(text: string): Scrape {
  const samples: Scrape['samples'] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const label of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[label[1]!] = label[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return { samples };
}

const matches = (labels: Record<string, string>, filter: Record<string, string>) =>
  Object.entries(filter).every(([key, value]) => labels[key] === value);

/** The sum of a counter (or gauge) over every series matching `filter`; undefined when absent. */
export function metricValue(scrape: Scrape, name: string, filter: Record<string, string> = {}): number | undefined {
  const series = scrape.samples.filter((sample) => sample.name === name && matches(sample.labels, filter));
  return series.length === 0 ? undefined : series.reduce((sum, sample) => sum + sample.value, 0);
}

/** A histogram's buckets, summed over every series matching `filter`; undefined when absent. */
export function histogram(scrape: Scrape, name: string, filter: Record<string, string> = {}): Buckets | undefined {
  const byBound = new Map<number, number>();
  for (const sample of scrape.samples) {
    if (sample.name !== `${name}_bucket` || !matches(sample.labels, filter)) continue;
    const bound = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
    byBound.set(bound, (byBound.get(bound) ?? 0) + sample.value);
  }
  if (byBound.size === 0) return undefined;
  const bounds = [...byBound.keys()].sort((a, b) => a - b);
  return { bounds, counts: bounds.map((bound) => byBound.get(bound)!) };
}
