import { sql } from 'kysely';
import { readdirSync, readFileSync } from 'node:fs';
import type { BenchEnvironment } from './environment';
import { sleep } from './processes';

/** Kernel clock ticks per second (USER_HZ), the unit of utime/stime in /proc/<pid>/stat; 100 on Linux. */
const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) a process has used so far; undefined when it is gone. */
function cpuSecondsOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based).
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

function pidsNamed(command: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === command;
      } catch {
        return false;
      }
    })
    .map(Number);
}

type Snapshot = Map<string, Map<number, number>>;

/** The bench's own process: it generates the load, it is not part of what an order costs. */
export const BENCH_GROUP = 'bench (load generator)';
/** The Postgres backends of the bench's own sessions (its watcher, samplers, pgbench). */
export const POSTGRES_FOR_BENCH = 'postgres for the bench';

/** Whether a CPU group is part of what the services cost (not the bench's own work, nor the wall time). */
export const isServiceCost = (group: string) => group !== 'wallSeconds' && group !== BENCH_GROUP && group !== POSTGRES_FOR_BENCH;

/**
 * Where the CPU went during a measurement: each service's node process, the bench itself, and
 * the Postgres, RabbitMQ and Redis servers (whole, so shared with anything else on the machine). Evidence for what to optimise when a target is missed.
 */
export class CpuMeter {
  private constructor(
    private readonly env: BenchEnvironment,
    private readonly before: Snapshot,
    private readonly startedAt: number,
  ) {}

  static async start(env: BenchEnvironment): Promise<CpuMeter> {
    return new CpuMeter(env, await snapshot(env), performance.now());
  }

  /** CPU seconds per process group since start, and the wall-clock seconds they were spent in. */
  async stop(): Promise<Record<string, number>> {
    const after = await snapshot(this.env);
    const result: Record<string, number> = { wallSeconds: round((performance.now() - this.startedAt) / 1000) };
    for (const [group, pids] of after) {
      let seconds = 0;
      // A process that appeared meanwhile (a new Postgres backend) counts from zero.
      for (const [pid, cpu] of pids) seconds += cpu - (this.before.get(group)?.get(pid) ?? 0);
      result[group] = round(seconds);
    }
    return result;
  }
}

const round = (n: number) => Math.round(n * 100) / 100;

async function snapshot(env: BenchEnvironment): Promise<Snapshot> {
  const groups: Snapshot = new Map();
  const add = (group: string, pid: number) => {
    const cpu = cpuSecondsOf(pid);
    if (cpu === undefined) return;
    if (!groups.has(group)) groups.set(group, new Map());
    groups.get(group)!.set(pid, cpu);
  };
  for (const running of env.processes()) {
    const pid = running.nodePid();
    if (pid !== undefined) add(running.role, pid);
  }
  const usage = process.cpuUsage();
  groups.set(BENCH_GROUP, new Map([[process.pid, (usage.user + usage.system) / 1e6]]));
  // The whole server, split by whom a backend serves (its application_name, e.g.
  // `order-service-relay`): the WAL writer, checkpointer and vacuum work for everyone's commits.
  const backends = await sql<{ pid: number; app: string }>`
    select pid, application_name as app from pg_stat_activity where pid <> pg_backend_pid() and backend_type = 'client backend'`.execute(env.db);
  const servedBy = new Map(backends.rows.map(({ pid, app }) => [pid, app]));
  for (const pid of pidsNamed('postgres')) {
    const app = servedBy.get(pid);
    add(app?.startsWith('order-service-') ? `postgres for ${app.slice('order-service-'.length)}` : app ? POSTGRES_FOR_BENCH : 'postgres (server processes)', pid);
  }
  for (const pid of pidsNamed('beam.smp')) add('rabbitmq (whole broker)', pid);
  for (const pid of pidsNamed('redis-server')) add('redis (whole server)', pid);
  return groups;
}

/** Adds one measurement's CPU seconds into a running total (per key). */
export function addCpu(total: Record<string, number>, part: Record<string, number>): void {
  for (const [key, seconds] of Object.entries(part)) total[key] = round((total[key] ?? 0) + seconds);
}

/**
 * Waits until the broker has used at most `maxShare` of a core over `windowMs`, or `deadlineMs`
 * passed; returns how long that took and the share of the last window. A figure that times an
 * idle pipeline must not start while the broker still cleans up after the figure before it
 * (purging a quorum queue of 50,000 messages keeps it busy for seconds).
 */
export async function waitForQuietBroker(
  env: BenchEnvironment,
  { maxShare = 0.05, windowMs = 500, deadlineMs = 30_000 } = {},
): Promise<{ waitedMs: number; share: number }> {
  const started = performance.now();
  for (;;) {
    const meter = await CpuMeter.start(env);
    await sleep(windowMs);
    const used = await meter.stop();
    const share = (used['rabbitmq (whole broker)'] ?? 0) / used.wallSeconds!;
    const waitedMs = Math.round(performance.now() - started);
    if (share <= maxShare || waitedMs >= deadlineMs) return { waitedMs, share: round(share) };
  }
}
