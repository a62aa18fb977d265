import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { nodeCommand, REPO_ROOT } from '@order-service/testkit';
import type { PeakMemory } from './memory';
import { progress } from './progress';

/** A process started the way an operator starts it (`pnpm start:<name>`), with its environment. */
export interface BenchProcess {
  role: string;
  port: number;
  child: ChildProcess;
  /** The node process that runs the service, whose memory is measured. */
  nodePid(): number | undefined;
  /** The last lines it wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/** Every process started and not yet stopped, so an abrupt exit can still kill them all. */
const started = new Set<BenchProcess>();

/** SIGKILLs every process still running. For the bench's 'exit' handler. */
export function killAllSync(): void {
  for (const running of started) if (running.child.pid !== undefined) safeKill(running.child.pid);
  started.clear();
}

/** A port that was free a moment ago; the service binds it itself. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface StartOptions {
  role: string;
  entry: string;
  env: Record<string, string>;
  memory: PeakMemory;
  /** Extra node flags before the operator's own (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/**
 * Starts `<entry>` as the root package.json's start scripts do (testkit's nodeCommand: one node
 * process with the tsx loader and the services' heap cap) on a free port, and waits until
 * GET /healthz answers. Logs run at warn, so the bench does not wait for the "listening" line:
 * it polls the port the way a load balancer would.
 */
export async function startProcess({ role, entry, env, memory, nodeArgs = [], timeoutMs = 60_000 }: StartOptions): Promise<BenchProcess> {
  const port = await freePort();
  const [command, args] = nodeCommand(entry);
  const child = spawn(command, [...nodeArgs, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail: string[] = [];
  const keep = (chunk: Buffer) => {
    tail = [...tail, ...chunk.toString().split('\n').filter(Boolean)].slice(-40);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve();
    }),
  );
  const bench: BenchProcess = {
    role,
    port,
    child,
    // The command is node itself (no launcher in between), so the child is the service.
    nodePid: () => (exitCode === undefined ? child.pid : undefined),
    output: () => tail.join('\n'),
    async stop() {
      started.delete(bench);
      memory.untrack(bench);
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!killed) {
        progress(`${role} did not stop within 15 s; killing it`);
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  started.add(bench);
  try {
    await waitForHealth(port, timeoutMs, () => {
      if (exitCode !== undefined) throw new Error(`${role} (${entry}) exited with ${exitCode}:\n${bench.output()}`);
    });
  } catch (error) {
    started.delete(bench);
    child.kill('SIGKILL');
    if (error instanceof Error && error.message.startsWith('timed out')) error.message += `\n${bench.output()}`;
    throw error;
  }
  memory.track(bench);
  return bench;
}

/** Polls /healthz until it answers 200; `check` throws to give up early (the process exited). */
async function waitForHealth(port: number, timeoutMs: number, check: () => void): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    check();
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for port ${port} to answer /healthz`);
    await sleep(100);
  }
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
