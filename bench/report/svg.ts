import type { Distribution, Figure } from './results';

/*
 * Small hand-written SVG charts: no chart library, no network. Each function returns a whole
 * SVG document; the numbers are also in the table, so the pictures only need to be clear.
 */

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';
const COLORS = { bar: '#4c78a8', limit: '#d0d4da', pass: '#54a24b', fail: '#e45756', marker: '#333', target: '#e45756', grid: '#eceef1' };

const escape = (text: string) => text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
const round = (n: number) => Math.round(n * 10) / 10;

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${round(x)}" y="${round(y)}" ${attributes}>${escape(content)}</text>`;
}

function document(width: number, height: number, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Formats milliseconds for an axis: 0.5 ms, 20 ms, 1.5 s. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms >= 1000) return `${round(ms / 1000)} s`;
  if (ms >= 10) return `${Math.round(ms)} ms`;
  return `${Math.round(ms * 100) / 100} ms`;
}

/** 1-2-5 ticks between low and high, for a log axis. */
function logTicks(low: number, high: number): number[] {
  const ticks: number[] = [];
  for (let decade = 10 ** Math.floor(Math.log10(low)); decade <= high; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const tick = decade * step;
      if (tick >= low && tick <= high) ticks.push(tick);
    }
  }
  return ticks;
}

/** A latency histogram on a log time axis, with lines at p50, p99 and any extra markers. */
export function latencyChart(dist: Distribution): string {
  const markers = [
    { label: 'p50', ms: dist.p50Ms, color: COLORS.marker },
    { label: 'p99', ms: dist.p99Ms, color: COLORS.marker },
    ...(dist.markers ?? []).map((marker) => ({ ...marker, color: marker.label.startsWith('target') ? COLORS.target : '#a0522d' })),
  ].filter((marker) => Number.isFinite(marker.ms));
  const width = 760;
  const left = 56;
  const right = 24;
  // Each marker's label gets its own row above the plot, so labels never overlap.
  const top = 52 + markers.length * 14;
  const plotHeight = 200;
  const bottom = 44;
  const height = top + plotHeight + bottom;
  const plotWidth = width - left - right;
  const body: string[] = [text(left, 22, dist.title, 'font-size="15" font-weight="600"')];
  if (dist.n === 0) {
    body.push(text(left, 44, 'no samples (not measured)', 'fill="#999"'));
    return document(width, 80, body);
  }
  body.push(
    text(left, 40, `${dist.n} samples · p50 ${formatMs(dist.p50Ms)} · p90 ${formatMs(dist.p90Ms)} · p99 ${formatMs(dist.p99Ms)} · max ${formatMs(dist.maxMs)}`, 'fill="#555"'),
  );
  const low = dist.edgesMs[0]!;
  const high = dist.edgesMs.at(-1)!;
  const x = (ms: number) => left + (Math.log(Math.min(Math.max(ms, low), high) / low) / Math.log(high / low)) * plotWidth;
  const maxCount = Math.max(...dist.counts, 1);
  const y = (count: number) => top + plotHeight - (count / maxCount) * plotHeight;

  for (const tick of logTicks(low, high)) {
    body.push(`<line x1="${round(x(tick))}" y1="${top}" x2="${round(x(tick))}" y2="${top + plotHeight}" stroke="${COLORS.grid}"/>`);
    body.push(text(x(tick), top + plotHeight + 16, formatMs(tick), 'text-anchor="middle" fill="#555"'));
  }
  dist.counts.forEach((count, i) => {
    if (count === 0) return;
    const x0 = x(dist.edgesMs[i]!);
    const x1 = x(dist.edgesMs[i + 1]!);
    body.push(`<rect x="${round(x0)}" y="${round(y(count))}" width="${round(Math.max(x1 - x0 - 1, 1))}" height="${round(top + plotHeight - y(count))}" fill="${COLORS.bar}"/>`);
  });
  body.push(`<line x1="${left}" y1="${top + plotHeight}" x2="${left + plotWidth}" y2="${top + plotHeight}" stroke="#999"/>`);
  body.push(text(left + plotWidth / 2, height - 8, 'latency (log scale)', 'text-anchor="middle" fill="#555"'));
  body.push(text(14, top + plotHeight / 2, 'count', `transform="rotate(-90 14 ${top + plotHeight / 2})" text-anchor="middle" fill="#555"`));

  markers.forEach((marker, i) => {
    const mx = x(marker.ms);
    const labelY = 52 + i * 14 + 10;
    // Labels right of the line, or left of it near the right edge.
    const anchor = mx > left + plotWidth * 0.7 ? 'end' : 'start';
    body.push(`<line x1="${round(mx)}" y1="${labelY + 3}" x2="${round(mx)}" y2="${top + plotHeight}" stroke="${marker.color}" stroke-dasharray="4 3"/>`);
    body.push(text(mx + (anchor === 'end' ? -4 : 4), labelY, `${marker.label} ${formatMs(marker.ms)}`, `fill="${marker.color}" text-anchor="${anchor}"`));
  });
  return document(width, height, body);
}

const formatRate = (value: number) => (value >= 100 ? Math.round(value).toLocaleString('en-US') : String(round(value)));

/**
 * Each throughput figure against its limit: the grey bar is the limit (the machine's own
 * capacity for the same work, measured in the same run), the coloured bar the figure, the red
 * tick the target ratio.
 */
export function throughputChart(figures: Figure[]): string {
  const rows = figures.filter((figure) => figure.target.ratioAtLeast !== undefined);
  const width = 760;
  const rowHeight = 86;
  const left = 16;
  const barWidth = 520;
  const top = 44;
  const height = top + rows.length * rowHeight + 8;
  const body: string[] = [text(left, 24, 'Throughput against the machine’s own limit (same run)', 'font-size="15" font-weight="600"')];
  rows.forEach((figure, i) => {
    const y = top + i * rowHeight;
    body.push(text(left, y + 14, `${figure.id}. ${figure.title}`, 'font-weight="600"'));
    if (figure.status !== 'measured' || figure.ratio === null) {
      body.push(text(left, y + 34, `not measured: ${figure.reason ?? 'no result'}`.slice(0, 110), 'fill="#999"'));
      return;
    }
    const barY = y + 22;
    body.push(`<rect x="${left}" y="${barY}" width="${barWidth}" height="20" fill="${COLORS.limit}"/>`);
    // Coloured by the ratio alone: this chart is about throughput (latency targets have their own charts).
    const ratioMet = figure.ratio >= figure.target.ratioAtLeast!;
    body.push(`<rect x="${left}" y="${barY + 5}" width="${round(Math.min(figure.ratio, 1.4) * barWidth)}" height="10" fill="${ratioMet ? COLORS.pass : COLORS.fail}"/>`);
    const tx = left + figure.target.ratioAtLeast! * barWidth;
    body.push(`<line x1="${round(tx)}" y1="${barY - 3}" x2="${round(tx)}" y2="${barY + 23}" stroke="${COLORS.target}" stroke-width="2"/>`);
    body.push(text(left + barWidth + 12, barY + 15, `ratio ${figure.ratio.toFixed(2)}`, 'font-weight="600" font-size="14"'));
    body.push(text(left + barWidth + 12, barY + 30, `target ≥ ${figure.target.ratioAtLeast}`, `fill="${COLORS.target}" font-size="11"`));
    body.push(text(left, barY + 36, `${formatRate(figure.value ?? NaN)} of ${formatRate(figure.limit ?? NaN)} ${figure.unit}`, 'fill="#333" font-size="11"'));
    body.push(text(left, barY + 50, `limit: ${figure.limitName ?? ''}`, 'fill="#777" font-size="11"'));
  });
  return document(width, height, body);
}

/** Peak RSS of each process against its 200 MB budget. */
export function memoryChart(figures: Figure[], budgetMb: number): string {
  const rows = figures.filter((figure) => figure.id === 7);
  const width = 760;
  const rowHeight = 30;
  const left = 120;
  const barWidth = 480;
  const top = 48;
  const height = top + Math.max(rows.length, 1) * rowHeight + 30;
  const scale = Math.max(budgetMb * 1.25, ...rows.map((row) => row.value ?? 0));
  const x = (mb: number) => left + (mb / scale) * barWidth;
  const body: string[] = [text(16, 24, `Peak RSS of each process (budget ${budgetMb} MB)`, 'font-size="15" font-weight="600"')];
  rows.forEach((row, i) => {
    const y = top + i * rowHeight;
    body.push(text(16, y + 14, row.subject ?? '?', 'font-weight="600"'));
    if (row.value === null) {
      body.push(text(left, y + 14, `not measured: ${row.reason ?? ''}`.slice(0, 90), 'fill="#999"'));
      return;
    }
    body.push(`<rect x="${left}" y="${y + 2}" width="${round(x(row.value) - left)}" height="16" fill="${row.pass ? COLORS.pass : COLORS.fail}"/>`);
    body.push(text(x(row.value) + 6, y + 14, `${round(row.value)} MB`));
  });
  const bx = x(budgetMb);
  body.push(`<line x1="${round(bx)}" y1="${top - 8}" x2="${round(bx)}" y2="${height - 20}" stroke="${COLORS.target}" stroke-dasharray="4 3"/>`);
  body.push(text(bx, height - 6, `${budgetMb} MB`, `text-anchor="middle" fill="${COLORS.target}"`));
  return document(width, height, body);
}
