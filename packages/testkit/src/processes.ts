import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** Each service's entry file, as `pnpm start:<role>` runs it (relative to REPO_ROOT). */
export const SERVICE_ENTRIES = {
  api: 'services/api/src/main.ts',
  relay: 'services/relay/src/main.ts',
  consumer: 'services/consumer/src/main.ts',
  simulator: 'services/consumer/src/simulator/main.ts',
} as const;
export type ServiceRole = keyof typeof SERVICE_ENTRIES;

/**
 * How every service is run, by the root package.json scripts and the Docker image alike:
 * `node --max-old-space-size=128 --import tsx --import @order-service/shared/instrument <entry>`
 * (the second import registers the OpenTelemetry instrumentations when tracing is on, and does
 * nothing otherwise). One process, not the tsx CLI's launcher
 * plus a child, so a signal (SIGKILL in a crash test above all) reaches the service itself. The
 * heap cap keeps V8 from growing a lazily collected heap far past the few tens of MB the services
 * keep live, which holds each process under 200 MB of RSS under load.
 */
export const SERVICE_NODE_FLAGS = ['--max-old-space-size=128', '--import', 'tsx', '--import', '@order-service/shared/instrument'];
export const nodeCommand = (entry: string): [string, string[]] => [process.execPath, [...SERVICE_NODE_FLAGS, entry]];

/** A spawned service with its JSON log lines (parsed as they arrive) and its stderr. */
export interface SpawnedWithLogs {
  child: ChildProcess;
  logs: Array<Record<string, unknown>>;
  stderr(): string;
}

/** Spawns `entry` as the scripts run it (`nodeCommand`), collecting its pino lines and stderr. */
export function spawnWithLogs(entry: string, env: Record<string, string>): SpawnedWithLogs {
  const [command, args] = nodeCommand(entry);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return { child, logs, stderr: () => stderr };
}

/** A service started as a child process, the way an operator starts it (`pnpm start:<name>`). */
export interface ServiceProcess {
  child: ChildProcess;
  /** The port its HTTP listener bound (PORT=0 lets the OS choose). */
  port: number;
  /** Every JSON log line seen so far. */
  logs: Array<Record<string, unknown>>;
  /** Sends a signal and waits for the exit; resolves with the exit code (null when killed). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/**
 * Starts `node --import tsx services/<name>/src/main.ts` (what `pnpm start:<name>` runs) with `env`, and waits
 * until it logs the port it listens on.
 */
export async function startService(
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<ServiceProcess> {
  const { child, logs, stderr } = spawnWithLogs(entry, env);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((code) => {
    exitCode = code;
  });
  const listening = await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`${entry} exited with ${exitCode}: ${stderr()}${JSON.stringify(logs)}`);
      return logs.find((line) => typeof line.port === 'number' && line.msg === 'listening');
    },
    { timeoutMs, what: `${entry} to listen` },
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    port: listening.port as number,
    logs,
    exited,
    async stop(signal = 'SIGTERM') {
      if (exitCode === undefined) child.kill(signal);
      return exited;
    },
  };
}

/** How a process that ran to its end finished. */
export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node --import tsx <entry>` to completion with `env` (for scripts such as `pnpm migrate`, and for
 * services that must refuse to start), killing it after `timeoutMs`.
 */
export async function runService(
  entry: string,
  env: Record<string, string>,
  { timeoutMs = 30_000 }: { timeoutMs?: number } = {},
): Promise<ProcessResult> {
  const [command, args] = nodeCommand(entry);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', (exitCode) => resolve(exitCode)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
