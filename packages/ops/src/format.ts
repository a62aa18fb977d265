/** Plain-text rendering for people: aligned tables, ages and timestamps. `--json` bypasses all of it. */
import stringWidth from 'string-width';

export type Cell = string | number | boolean | null | undefined | Date;

const cellText = (value: Cell): string => {
  if (value === null || value === undefined) return '-';
  if (value instanceof Date) return timestamp(value);
  return String(value);
};

/**
 * Pads text with spaces to `width` terminal columns. Columns, not UTF-16 code units: a CJK
 * character takes two, a combining accent or a zero-width joiner none (string-width).
 */
export const padToWidth = (text: string, width: number) => text + ' '.repeat(Math.max(0, width - stringWidth(text)));

/** An aligned table with a header row; columns are separated by two spaces. */
export function table(headers: string[], rows: Cell[][]): string {
  const text = rows.map((row) => row.map(cellText));
  const widths = headers.map((header, i) => Math.max(stringWidth(header), ...text.map((row) => stringWidth(row[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : padToWidth(cell, widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

/** Key/value lines with the keys aligned. */
export function fields(entries: Array<[string, Cell]>): string {
  const width = Math.max(...entries.map(([key]) => stringWidth(key)));
  return entries.map(([key, value]) => `${padToWidth(key, width)}  ${cellText(value)}`).join('\n');
}

/** A titled block, separated from the next by a blank line. */
export const section = (title: string, body: string) => `${title}\n${indent(body)}`;

export const indent = (text: string, by = '  ') =>
  text
    .split('\n')
    .map((line) => (line ? by + line : line))
    .join('\n');

/** ISO timestamp to the millisecond, in UTC. */
export const timestamp = (date: Date) => date.toISOString();

/** A duration in seconds as people read it: 850 ms, 12.3 s, 4 min 5 s, 3 h 2 min, 2 d 4 h. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  if (seconds < 1) return `${Math.round(seconds * 1_000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.floor(seconds);
  if (s < 3_600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  if (s < 86_400) return `${Math.floor(s / 3_600)} h ${Math.floor((s % 3_600) / 60)} min`;
  return `${Math.floor(s / 86_400)} d ${Math.floor((s % 86_400) / 3_600)} h`;
}

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * Shortens long text (errors, reasons) to one table-friendly line of at most `max` columns. It cuts
 * between whole characters as people see them, never inside a surrogate pair or an accented letter.
 */
export function clip(text: string | null | undefined, max = 80): string | null {
  if (text === null || text === undefined) return null;
  const line = text.replace(/\s+/g, ' ').trim();
  if (stringWidth(line) <= max) return line;
  let kept = '';
  let width = 0;
  for (const { segment } of graphemes.segment(line)) {
    width += stringWidth(segment);
    if (width > max - 1) break;
    kept += segment;
  }
  return `${kept}…`;
}

/** Error message of anything thrown, with the error code when there is one. */
export function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const message = error.message || error.name;
    return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
  }
  return String(error);
}
