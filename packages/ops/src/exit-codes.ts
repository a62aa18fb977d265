/**
 * Exit codes of `pnpm ops`, documented in docs/operations.md. Scripts may rely on them.
 * - 0: done; for `status`, every check passed.
 * - 1: error: a dependency could not be reached or a step failed part-way.
 * - 2: usage: unknown command or option, a malformed argument, or an invalid OPS_* setting.
 * - 3: not found or unhealthy: no such order / parked row / queue, or `status` found a problem.
 */
export const ExitCode = { ok: 0, error: 1, usage: 2, notFound: 3, unhealthy: 3 } as const;

/** A wrong invocation; the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** What every command returns: the exit code, the data for `--json`, and the text for people. */
export interface CommandResult {
  exitCode: number;
  data: unknown;
  text: string;
}
