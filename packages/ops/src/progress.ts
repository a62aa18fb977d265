/**
 * Progress of long work, for the people watching it. It goes to stderr, so stdout keeps only the
 * result (text or `--json`) and stays machine-readable.
 */
import { duration } from './format';

/** The progress of one piece of work of a known size. */
export interface Progress {
  /** `done` of the total items are finished. */
  advance(done: number): void;
  /** The work ended, finished or stopped: the last state is written and the ticker stopped. */
  end(): void;
}

/** Starts reporting the progress of `total` items of work named `label`. */
export type StartProgress = (label: string, total: number) => Progress;

export interface ProgressOptions {
  /** Where progress goes: stderr. A TTY gets a bar redrawn in place; anything else plain lines. */
  out: { write(text: string): unknown; isTTY?: boolean };
  /** At most one plain line per interval while the work runs (0: one per item). */
  intervalMs: number;
  now?: () => number;
  /** Calls `tick` every `ms` until the returned function is called; so a stalled step still shows. */
  every?: (ms: number, tick: () => void) => () => void;
}

/** Work that reports nothing. */
export const NO_PROGRESS: StartProgress = () => ({ advance() {}, end() {} });

const BAR_WIDTH = 30;
/** A bar is redrawn at most this often, however fast the items go. */
const REDRAW_MS = 100;

const everyInterval = (ms: number, tick: () => void) => {
  const timer = setInterval(tick, ms);
  // The ticker never keeps the CLI alive by itself.
  timer.unref();
  return () => clearInterval(timer);
};

/**
 * Progress on `out`: on a TTY a bar such as `dlq redrive [######------] 40/100 (40%)`, redrawn in
 * place; otherwise a line at the start, a line at most every `intervalMs` (also while a step is
 * stalled), and a line at the end.
 */
export function progressOn({ out, intervalMs, now = Date.now, every = everyInterval }: ProgressOptions): StartProgress {
  return (label, total) => {
    const started = now();
    const tty = out.isTTY === true;
    let done = 0;
    let written = Number.NEGATIVE_INFINITY;

    const state = () => {
      const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
      return `${done}/${total} (${percent}%), ${duration((now() - started) / 1000)}`;
    };
    const write = () => {
      written = now();
      if (tty) {
        const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
        out.write(`\r\x1b[2K${label} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${state()}`);
      } else out.write(`${label}: ${state()}\n`);
    };
    const due = () => now() - written >= (tty ? Math.min(REDRAW_MS, intervalMs) : intervalMs);

    write();
    // Checked often enough that a line is at most a quarter interval late, even while a step stalls.
    const stop = every(tty ? REDRAW_MS : Math.max(REDRAW_MS, Math.floor(intervalMs / 4)), () => {
      if (due()) write();
    });
    let ended = false;
    return {
      advance(count) {
        done = count;
        if (due()) write();
      },
      end() {
        if (ended) return;
        ended = true;
        stop();
        write();
        if (tty) out.write('\n');
      },
    };
  };
}
