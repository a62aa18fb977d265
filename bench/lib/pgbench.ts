import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { sessionOptions, type SessionSettings } from '@order-service/shared';
import { quantile } from './stats';

const run = promisify(execFile);

export interface PgbenchOptions {
  databaseUrl: string;
  /** The transaction, one SQL statement per line, with :variables. */
  script: string;
  /** How statements are sent: `extended` parses every time (node-postgres's unnamed statements), `prepared` once per client. */
  protocol?: 'extended' | 'prepared';
  /** Script variables (-D), sent as bind parameters in extended mode. */
  variables?: Record<string, string | number>;
  clients: number;
  /** Run for this long (-T) ... */
  seconds?: number;
  /** ... or this many transactions per client (-t). */
  transactionsPerClient?: number;
  /** Transactions per second over all clients (-R), scheduled as an open loop; as fast as it can without. */
  rate?: number;
  /** Log every transaction's latency (-l) and report p50/p99 too. */
  latencies?: boolean;
  /** Run the sessions as a service runs its own (its createDb settings), for a limit made of its statements. */
  session?: SessionSettings;
}

export interface PgbenchResult {
  tps: number;
  transactions: number;
  failed: number;
  latencyAverageMs: number;
  /** From the per-transaction log, when asked for (in ms). */
  latenciesMs?: number[];
  p50Ms?: number;
  p99Ms?: number;
}

/**
 * Runs pgbench with a custom script, in extended-query mode by default (parse/bind/execute per
 * statement, as node-postgres sends a parameterised query), without vacuuming first (-n).
 */
export async function runPgbench(options: PgbenchOptions): Promise<PgbenchResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-pgbench-'));
  try {
    const file = path.join(dir, 'script.sql');
    writeFileSync(file, options.script);
    const args = ['-n', '-M', options.protocol ?? 'extended', '-f', file, '-c', String(options.clients), '-j', String(Math.min(2, options.clients))];
    if (options.transactionsPerClient !== undefined) args.push('-t', String(options.transactionsPerClient));
    else args.push('-T', String(Math.max(1, Math.round(options.seconds ?? 10))));
    if (options.rate !== undefined) args.push('-R', String(options.rate));
    for (const [name, value] of Object.entries(options.variables ?? {})) args.push('-D', `${name}=${value}`);
    if (options.latencies) args.push('-l', `--log-prefix=${path.join(dir, 'log')}`);
    args.push(options.databaseUrl);
    const env = options.session ? { ...process.env, PGOPTIONS: sessionOptions(options.session) } : process.env;
    const { stdout } = await run('pgbench', args, { env, maxBuffer: 16 * 1024 * 1024, timeout: 600_000 }).catch((error: Error & { stderr?: string }) => {
      throw new Error(`pgbench failed: ${error.message}\n${error.stderr ?? ''}`);
    });
    const result = parsePgbench(stdout);
    if (options.latencies) {
      // One line per transaction: client, transaction number, latency in µs, ...
      const latencies = readdirSync(dir)
        .filter((file) => file.startsWith('log'))
        .flatMap((file) => readFileSync(path.join(dir, file), 'utf8').split('\n'))
        .filter(Boolean)
        .map((line) => Number(line.split(' ')[2]) / 1000);
      result.latenciesMs = latencies;
      result.p50Ms = quantile(latencies, 0.5);
      result.p99Ms = quantile(latencies, 0.99);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function parsePgbench(stdout: string): PgbenchResult {
  const number = (pattern: RegExp) => {
    const match = pattern.exec(stdout);
    if (!match) throw new Error(`pgbench output lacks ${pattern}:\n${stdout}`);
    return Number(match[1]);
  };
  return {
    tps: number(/^tps = ([\d.]+)/m),
    transactions: number(/^number of transactions actually processed: (\d+)/m),
    failed: /^number of failed transactions: (\d+)/m.test(stdout) ? number(/^number of failed transactions: (\d+)/m) : 0,
    latencyAverageMs: number(/^latency average = ([\d.]+) ms/m),
  };
}
