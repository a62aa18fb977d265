import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { REPO_ROOT } from '@order-service/testkit';

const TSX = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

export interface OpsRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `tsx packages/ops/src/cli.ts <args>` (what `pnpm ops` runs) with `env` on top of the test's own. */
export function runOps(args: string[], env: Record<string, string>): Promise<OpsRun> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      ['packages/ops/src/cli.ts', ...args],
      { cwd: REPO_ROOT, env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The `--json` output of a run, parsed; fails with the run's output when it is not JSON. */
export function json<T = Record<string, unknown>>(run: OpsRun): T {
  try {
    return JSON.parse(run.stdout) as T;
  } catch {
    throw new Error(`not JSON (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
  }
}
