import type { Figure } from './results';
import { formatMs } from './svg';

export interface Row {
  figure: string;
  value: string;
  limit: string;
  ratio: string;
  target: string;
  result: string;
}

const rate = (value: number | null) => (value === null ? '—' : value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1));

/** One figure as the cells of the results table (stdout and REPORT.md share it). */
export function toRow(figure: Figure): Row {
  const name = `${figure.id}. ${figure.title}${figure.subject ? ` (${figure.subject})` : ''}`;
  if (figure.status !== 'measured') {
    return { figure: name, value: '—', limit: '—', ratio: '—', target: figure.target.text, result: `not measured (${figure.reason ?? 'unknown'})` };
  }
  const latency = figure.p99Ms === null ? '' : `p50 ${formatMs(figure.p50Ms ?? NaN)}, p99 ${formatMs(figure.p99Ms)}`;
  const value =
    figure.unit === 'ms'
      ? latency || `${figure.value === null ? '—' : figure.value.toFixed(2)} ms`
      : figure.unit === 'MB'
        ? `${rate(figure.value)} MB`
        : `${rate(figure.value)} ${figure.unit}${latency ? ` (${latency})` : ''}`;
  return {
    figure: name,
    value,
    limit: figure.limit === null ? '—' : `${rate(figure.limit)} ${figure.unit}`,
    ratio: figure.ratio === null ? '—' : figure.ratio.toFixed(2),
    target: figure.target.text,
    result: figure.pass === null ? 'reported' : figure.pass ? 'pass' : 'FAIL',
  };
}

const HEADERS: Row = { figure: 'figure', value: 'value', limit: 'limit', ratio: 'ratio', target: 'target', result: 'pass/fail' };
const COLUMNS = Object.keys(HEADERS) as Array<keyof Row>;

/** A plain-text table for the terminal. */
export function textTable(figures: Figure[]): string {
  const rows = [HEADERS, ...figures.map(toRow)];
  const widths = COLUMNS.map((column) => Math.max(...rows.map((row) => row[column].length)));
  const line = (row: Row) => COLUMNS.map((column, i) => row[column].padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The same table in Markdown. */
export function markdownTable(figures: Figure[]): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = figures.map(toRow);
  return [
    `| ${COLUMNS.map((column) => HEADERS[column]).join(' | ')} |`,
    `| ${COLUMNS.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${COLUMNS.map((column) => cell(row[column])).join(' | ')} |`),
  ].join('\n');
}
