import type { ChildProcess } from 'node:child_process';
import { SERVICE_ENTRIES, spawnWithLogs, waitFor, type ServiceRole as Role } from '@order-service/testkit';

export type { Role };

/**
 * A service run as `pnpm start:<role>` runs it. Unlike testkit's startService it keeps stderr,
 * can be started without waiting for its listener (a crash-point process may die first).
 */
export interface FaultProcess {
  role: Role;
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr(): string;
  exited: Promise<number | null>;
  readonly running: boolean;
  /** Waits for the `listening` log line and returns the port. */
  listening(timeoutMs?: number): Promise<number>;
  /** SIGKILL, as a crash or an OOM kill would end it. */
  kill(): Promise<void>;
  /** SIGTERM, as an operator stops it (SIGKILL if it has not exited within 20 s). */
  stop(): Promise<void>;
}

const live = new Set<FaultProcess>();

function signal(pid: number | undefined, name: NodeJS.Signals) {
  if (pid === undefined) return;
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

/** Kills every process this harness started and has not stopped (for `exit` and teardown). */
export function killAllSync(): void {
  for (const running of live) signal(running.child.pid, 'SIGKILL');
  live.clear();
}
process.once('exit', killAllSync);

export function spawnService(role: Role, env: Record<string, string>): FaultProcess {
  const { child, logs, stderr } = spawnWithLogs(SERVICE_ENTRIES[role], { PORT: '0', ...env });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code, sig) => {
      exitCode = code ?? (sig ? 128 + 9 : null);
      live.delete(proc);
      resolve(exitCode);
    }),
  );
  const kill = async () => {
    if (exitCode !== undefined) return;
    signal(child.pid, 'SIGKILL');
    await exited;
  };
  const proc: FaultProcess = {
    role,
    child,
    logs,
    stderr,
    exited,
    get running() {
      return exitCode === undefined;
    },
    async listening(timeoutMs = 60_000) {
      const found = () => logs.find((entry) => entry.msg === 'listening' && typeof entry.port === 'number');
      let stopWaiting = false;
      const died = exited.then((code) => {
        if (stopWaiting || found()) return undefined;
        throw new Error(`${role} exited with ${code} before listening: ${stderr().slice(-2_000)}`);
      });
      const listened = waitFor(() => stopWaiting || found(), { timeoutMs, intervalMs: 50, what: `${role} to listen` });
      try {
        await Promise.race([listened, died]);
      } finally {
        stopWaiting = true;
      }
      const line = found();
      if (!line) throw new Error(`${role} exited before listening: ${stderr().slice(-2_000)}`);
      return line.port as number;
    },
    kill,
    async stop() {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => void kill(), 20_000);
      await exited;
      clearTimeout(timer);
    },
  };
  live.add(proc);
  return proc;
}

/** A service that listens; its ops (or API) port. */
export type RunningProcess = FaultProcess & { port: number };

/** Spawns a service and waits until it listens; kills it when it does not. */
export async function startListening(role: Role, env: Record<string, string>): Promise<RunningProcess> {
  const proc = spawnService(role, env);
  try {
    const port = await proc.listening();
    return Object.assign(proc, { port });
  } catch (error) {
    await proc.kill();
    throw error;
  }
}
