import { readFileSync } from 'node:fs';
import type { BenchProcess } from './processes';

/** VmHWM (peak resident set) and VmRSS of a process, in bytes. */
export function memoryOf(pid: number): { peak: number; current: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { peak: kb('VmHWM'), current: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

/**
 * Peak RSS per role over every process of that role the bench started (figure 7). Sampled
 * every second and once more before each stop; VmHWM is the kernel's own high-water mark,
 * so short peaks between samples are not missed.
 */
export class PeakMemory {
  readonly peaks = new Map<string, number>();
  private readonly live = new Set<BenchProcess>();
  private readonly timer = setInterval(() => this.sampleAll(), 1_000).unref();

  track(process: BenchProcess): void {
    this.live.add(process);
  }

  sample(process: BenchProcess): void {
    const pid = process.nodePid();
    const memory = pid === undefined ? undefined : memoryOf(pid);
    if (memory && Number.isFinite(memory.peak)) {
      this.peaks.set(process.role, Math.max(this.peaks.get(process.role) ?? 0, memory.peak));
    }
  }

  untrack(process: BenchProcess): void {
    this.sample(process);
    this.live.delete(process);
  }

  sampleAll(): void {
    for (const process of this.live) this.sample(process);
  }

  close(): void {
    clearInterval(this.timer);
  }
}
